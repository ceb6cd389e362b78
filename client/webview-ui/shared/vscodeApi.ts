// The one handle a webview has on VS Code: post to the extension, and keep a small state that
// survives the panel being hidden and the window being reloaded (getState/setState, which the
// panel serializer hands back).

interface VsCodeApi<Post, State> {
  postMessage(message: Post): void;
  getState(): State | undefined;
  setState(state: State): void;
}

declare function acquireVsCodeApi<Post, State>(): VsCodeApi<Post, State>;

export interface WebviewApi<Post, State> {
  post(message: Post): void;
  /** The saved state, or undefined on a first load (and when what was saved is not an object). */
  saved(): Partial<State> | undefined;
  save(state: State): void;
}

/** Call once per load. Script errors are posted to the extension's log as `problem` messages. */
export function webviewApi<Post extends { type: string }, State>(
  problem: (message: string) => Post,
): WebviewApi<Post, State> {
  const api = acquireVsCodeApi<Post, State>();
  window.addEventListener('error', (event) =>
    api.postMessage(problem(`${event.message} (${event.filename}:${event.lineno})`)),
  );
  window.addEventListener('unhandledrejection', (event) => api.postMessage(problem(String(event.reason))));
  return {
    post: (message) => api.postMessage(message),
    saved: () => {
      const state = api.getState();
      return typeof state === 'object' && state !== null ? state : undefined;
    },
    save: (state) => api.setState(state),
  };
}
