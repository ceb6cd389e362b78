// The command table against package.json: every contributed command is registered (through the
// table) and every registered command is contributed; menus name only contributed commands.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  COMMANDS,
  CommandRegistry,
  type CommandId,
  type CommandName,
  type TestHookId,
} from '../../client/src/commandIds';
import { repoRoot } from '../support/repo';

const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  contributes: { commands: { command: string }[]; menus: Record<string, { command: string }[]> };
};
const contributed = manifest.contributes.commands.map((c) => c.command);

test('the table and package.json name the same commands, each once', () => {
  assert.deepEqual([...Object.values(COMMANDS)].sort(), [...contributed].sort());
  assert.equal(new Set(contributed).size, contributed.length);
});

test('menus name only contributed commands', () => {
  for (const [menu, items] of Object.entries(manifest.contributes.menus)) {
    for (const item of items)
      assert.ok(contributed.includes(item.command), `${menu} names ${item.command}, which is not contributed`);
  }
});

test('the registry registers each command by its table id, refuses a second registration, and says which are missing', () => {
  const registered: (CommandId | TestHookId)[] = [];
  const registry = new CommandRegistry((id) => {
    registered.push(id);
    return { dispose: () => undefined };
  });
  assert.deepEqual(registry.missing().sort(), [...contributed].sort());
  registry.register('showLog', () => undefined);
  assert.deepEqual(registered, ['ringkernel.showLog']);
  assert.throws(() => registry.register('showLog', () => undefined), /ringkernel\.showLog is registered twice/);
  for (const name of Object.keys(COMMANDS) as CommandName[])
    if (name !== 'showLog') registry.register(name, () => undefined);
  assert.deepEqual(registry.missing(), []);
  assert.deepEqual([...registered].sort(), [...contributed].sort());
});

test('test hooks are registered through the registry but are not commands of the table', () => {
  const registered: (CommandId | TestHookId)[] = [];
  const registry = new CommandRegistry((id) => {
    registered.push(id);
    return { dispose: () => undefined };
  });
  registry.registerTestHook('ringkernel.test.webviews', () => undefined);
  assert.deepEqual(registered, ['ringkernel.test.webviews']);
  assert.ok(!contributed.includes('ringkernel.test.webviews'));
  assert.deepEqual(registry.missing().sort(), [...contributed].sort());
});
