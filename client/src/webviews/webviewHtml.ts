// The one place a webview's HTML is built: a strict Content Security Policy (nothing by default;
// scripts only with this load's nonce; styles, images and fonts only from the webview resource
// origin, which localResourceRoots limits to the extension's media/webview folder), the styles,
// an empty root the script fills, and the scripts. No VS Code API, so the policy is unit-tested.
import { randomBytes } from 'node:crypto';

export interface WebviewPage {
  /** `webview.cspSource`. */
  cspSource: string;
  /** A fresh nonce per load (newNonce()). */
  nonce: string;
  title: string;
  /** Webview URIs (asWebviewUri) of the style sheets and scripts, in load order. */
  styles: readonly string[];
  scripts: readonly string[];
  /** Set on the root element as data-NAME attributes, for the script to read before any message (e.g. which kernel). */
  data?: Readonly<Record<string, string>>;
}

/** 128 random bits from the operating system's generator, base64: a script nonce nobody can guess. */
export function newNonce(): string {
  return randomBytes(16).toString('base64');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource}`,
    `img-src ${cspSource}`,
    `font-src ${cspSource}`,
  ].join('; ');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function webviewHtml(page: WebviewPage): string {
  const attribute = (value: string): string => `"${escapeHtml(value)}"`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="UTF-8">',
    `<meta http-equiv="Content-Security-Policy" content=${attribute(contentSecurityPolicy(page.cspSource, page.nonce))}>`,
    '<meta name="viewport" content="width=device-width, initial-scale=1.0">',
    ...page.styles.map((href) => `<link rel="stylesheet" href=${attribute(href)}>`),
    `<title>${escapeHtml(page.title)}</title>`,
    '</head>',
    '<body>',
    `<main id="app"${Object.entries(page.data ?? {})
      .map(([name, value]) => ` data-${name.toLowerCase().replace(/[^a-z0-9-]/g, '')}=${attribute(value)}`)
      .join('')}></main>`,
    ...page.scripts.map((src) => `<script nonce=${attribute(page.nonce)} src=${attribute(src)}></script>`),
    '</body>',
    '</html>',
  ].join('\n');
}

/** A page without script that only says something: for a panel that cannot show what it was (a restore that failed). */
export function messageHtml(page: Omit<WebviewPage, 'nonce' | 'scripts' | 'data'> & { message: string }): string {
  return webviewHtml({ ...page, nonce: newNonce(), scripts: [] }).replace(
    '<main id="app"></main>',
    `<main id="app"><p class="status warning">${escapeHtml(page.message)}</p></main>`,
  );
}
