// One factory per command. Each command reports its own failure to the user.
import * as vscode from 'vscode';
import type { ServerConnection } from './serverConnection';

export function registerCommands(context: vscode.ExtensionContext, server: ServerConnection, log: vscode.LogOutputChannel): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('ringkernel.restartServer', async () => {
      try {
        await server.restart();
      } catch (error) {
        const message = `RingKernel: the language server did not restart: ${error instanceof Error ? error.message : String(error)}`;
        log.error(message);
        void vscode.window.showErrorMessage(message, 'Show Log').then((choice) => { if (choice) log.show(); });
      }
    }),
    vscode.commands.registerCommand('ringkernel.showLog', () => log.show()),
    vscode.commands.registerCommand('ringkernel.showServerInfo', async () => {
      try {
        const info = await server.serverInfo();
        const backends = info.probing ? 'still probing GPU backends' : info.backends
          .map((b) => (b.available ? `${b.backend}: ${b.devices.map((d) => d.name).join(', ')}` : `${b.backend}: unavailable (${b.reason ?? 'no reason given'})`))
          .join('; ');
        void vscode.window.showInformationMessage(`RingKernel ${info.version} (server pid ${info.pid}): ${backends}`);
        return info;
      } catch (error) {
        void vscode.window.showErrorMessage(`RingKernel: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      }
    }),
  );
}
