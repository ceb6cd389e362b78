// No path from the manifest or a kernel id leaves its folder: a table of hostile inputs against
// the manifest's source locator (what the checker and the reader use) and checkpoint file names.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, isAbsolute, sep } from 'node:path';
import { after, test } from 'node:test';
import { checkpointFileName, kernelKey, parseCheckpointFileName } from '../../server/src/checkpoint/checkpointFileName';
import { SourceLocator } from '../../server/src/manifest/sourceLocation';

const base = realpathSync(mkdtempSync(join(tmpdir(), 'ringkernel-escape-')));
const workspace = join(base, 'workspace');
mkdirSync(join(workspace, 'kernels'), { recursive: true });
writeFileSync(join(base, 'secret.wgsl'), 'outside');
writeFileSync(join(workspace, 'kernels', 'heat.wgsl'), 'inside');
symlinkSync(join(base, 'secret.wgsl'), join(workspace, 'leaves.wgsl'));
symlinkSync(base, join(workspace, 'up'));
symlinkSync(join(base, 'not-yet.wgsl'), join(workspace, 'dangling.wgsl'));
symlinkSync(join(workspace, 'kernels', 'heat.wgsl'), join(workspace, 'stays.wgsl'));
after(() => rmSync(base, { recursive: true, force: true }));

const inside = (folder: string, path: string): boolean => {
  const rel = relative(folder, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
};

test('a kernel source that leads out of the workspace is refused, however it is spelt', () => {
  const locator = new SourceLocator(workspace);
  const refused: [string, RegExp][] = [
    ['../secret.wgsl', /resolves to .* outside the workspace folder/],
    ['kernels/../../secret.wgsl', /outside the workspace folder/],
    ['kernels/../..', /outside the workspace folder/],
    ['..', /outside the workspace folder/],
    ['.', /outside the workspace folder/],
    ['', /outside the workspace folder/],
    [join(base, 'secret.wgsl'), /must be a path relative to ringkernel\.json, not the absolute path/],
    ['/etc/passwd', /not the absolute path/],
    ['kernels/heat.wgsl\0../../secret.wgsl', /contains a NUL character/],
    ['leaves.wgsl', /leads through a symbolic link to .*secret\.wgsl, outside/],
    ['up/secret.wgsl', /leads through a symbolic link/],
    // Missing files behind links: refused now, not once the file appears (fixed here).
    ['up/not-yet.wgsl', /leads through a symbolic link to .*not-yet\.wgsl, outside/],
    ['up/deeper/not-yet.wgsl', /leads through a symbolic link/],
    ['dangling.wgsl', /leads through a symbolic link to .*not-yet\.wgsl, outside/],
  ];
  for (const [written, says] of refused) {
    const location = locator.locate(written);
    assert.match(location.outside ?? '(accepted)', says, JSON.stringify(written));
  }
  // Spellings that only look hostile on this system: names inside the folder (on Windows the drive
  // and UNC forms are absolute and refused by the same isAbsolute check).
  const accepted = [
    'kernels/heat.wgsl',
    'kernels/./heat.wgsl',
    'stays.wgsl',
    'kernels/missing.wgsl',
    '%2e%2e/secret.wgsl',
    '..\\secret.wgsl',
    'C:\\Windows\\secret.wgsl',
    '\\\\server\\share\\secret.wgsl',
    '\u2025/secret.wgsl',
    '...',
  ];
  for (const written of accepted) {
    const location = locator.locate(written);
    assert.equal(location.outside, undefined, JSON.stringify(written));
    assert.ok(inside(workspace, location.path), `${JSON.stringify(written)} -> ${location.path}`);
  }
});

test('a checkpoint file name stays a plain name in its folder, whatever the kernel id', () => {
  const folder = join(base, 'checkpoints');
  const ids = [
    '../../etc/passwd',
    '/etc/passwd',
    'a/b',
    'a\\b',
    '..',
    '.',
    '',
    'C:',
    'C:\\Windows\\system32',
    '\\\\server\\share',
    'nul\0byte',
    'CON',
    'nul.txt',
    'aux',
    'LPT1',
    '\u202Eevil',
    'x'.repeat(500),
    ' .',
    'heat',
    'Heat',
  ];
  const keys = new Set<string>();
  for (const id of ids) {
    const name = checkpointFileName(id, 7);
    assert.equal(basename(name), name, JSON.stringify(id));
    assert.doesNotMatch(name, /[/\\\0:]|^\./, JSON.stringify(id));
    assert.ok(name.length <= 80, `${JSON.stringify(id)}: ${name.length} characters`);
    assert.equal(dirname(join(folder, name)), folder, JSON.stringify(id));
    assert.deepEqual(parseCheckpointFileName(name), { key: kernelKey(id), generation: 7 });
    assert.doesNotMatch(name.split('.')[0] ?? '', /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/i, JSON.stringify(id));
    keys.add(kernelKey(id));
  }
  assert.equal(keys.size, ids.length, 'two ids share a key (and so files)');
  // An id that cannot be written as UTF-8 is refused with a clear error, not turned into a name.
  assert.throws(
    () => checkpointFileName('\uD800', 7),
    /not well-formed Unicode \(it has a lone surrogate\), so it cannot be stored/,
  );
});
