// The server's settings module against package.json's contributes.configuration (every
// ringkernel.* setting known, with the same type, default and bounds), and how it reads bad values.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  DEFAULT_SETTINGS,
  SETTING_DECLARATIONS,
  SettingsReporter,
  readSettings,
  type SettingDeclaration,
} from '../../server/src/settings';
import { repoRoot } from '../support/repo';

interface ContributedSetting {
  type: string;
  default: unknown;
  minimum?: number;
  maximum?: number;
  enum?: string[];
  items?: { type: string; pattern?: string };
  uniqueItems?: boolean;
}

const contributed = (
  JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    contributes: { configuration: { properties: Record<string, ContributedSetting> } };
  }
).contributes.configuration.properties;
const declared = SETTING_DECLARATIONS as Record<string, SettingDeclaration>;

test('every contributed ringkernel.* setting is declared, and every declared one is contributed', () => {
  const fromPackage = Object.keys(contributed)
    .filter((k) => k.startsWith('ringkernel.'))
    .map((k) => k.slice('ringkernel.'.length))
    .sort();
  assert.deepEqual(Object.keys(declared).sort(), fromPackage);
  assert.deepEqual(
    Object.keys(contributed).filter((k) => !k.startsWith('ringkernel.')),
    [],
    'every setting is under ringkernel.',
  );
});

for (const [name, declaration] of Object.entries(declared)) {
  test(`ringkernel.${name}: type, default and bounds agree with package.json`, () => {
    const setting = contributed[`ringkernel.${name}`];
    assert.ok(setting);
    assert.equal(setting.type, declaration.type);
    assert.deepEqual(setting.default, declaration.default);
    if (declaration.type === 'number' || declaration.type === 'integer') {
      assert.equal(setting.minimum, declaration.minimum);
      assert.equal(setting.maximum, declaration.maximum);
    } else {
      assert.equal(setting.minimum, undefined);
      assert.equal(setting.maximum, undefined);
    }
    if (declaration.type === 'string')
      assert.deepEqual(setting.enum, declaration.enum ? [...declaration.enum] : undefined);
    if (declaration.type === 'array') {
      assert.equal(setting.items?.type, 'string');
      assert.equal(setting.items.pattern, declaration.pattern.source);
      assert.equal(setting.uniqueItems, true);
    }
  });
}

test('nothing set: the defaults, and no problem', () => {
  for (const section of [undefined, null, 'nonsense', {}]) {
    const read = readSettings(section);
    assert.deepEqual(read.settings, DEFAULT_SETTINGS);
    assert.deepEqual(read.problems, []);
  }
  assert.equal(DEFAULT_SETTINGS['kernels.stepTimeoutMs'], 5000);
});

test('nested sections (VS Code) and flat dotted keys (other editors) both read', () => {
  const nested = readSettings({
    kernels: { stepTimeoutMs: 2000, autoStart: false },
    ptxas: { path: ' /opt/ptxas ' },
    validation: { onType: false },
  });
  assert.equal(nested.settings['kernels.stepTimeoutMs'], 2000);
  assert.equal(nested.settings['kernels.autoStart'], false);
  assert.equal(nested.settings['ptxas.path'], '/opt/ptxas');
  assert.equal(nested.settings['validation.onType'], false);
  const flat = readSettings({ 'kernels.stepTimeoutMs': 3000, enableP2P: false });
  assert.equal(flat.settings['kernels.stepTimeoutMs'], 3000);
  assert.equal(flat.settings.enableP2P, false);
  assert.deepEqual([...nested.problems, ...flat.problems], []);
});

test('each bad value is a problem naming the setting, the value and the value used instead; the rest applies', () => {
  const read = readSettings({
    loadBalancing: 'Fastest',
    maxKernelsPerDevice: 0,
    preferredDevices: ['cuda:1', 7, 'gpu zero', 'cuda:1'],
    enableP2P: 'yes',
    validation: { debounceMs: 20_000 },
    kernels: { stepTimeoutMs: 50, checkpointIntervalSeconds: 'often', reloadOnSave: false },
  });
  assert.deepEqual(
    read.problems.map((p) => p.message),
    [
      'ringkernel.loadBalancing: "Fastest" is not one of firstAvailable, leastLoaded, roundRobin, memoryBased, computeCapability, custom; using "leastLoaded"',
      'ringkernel.maxKernelsPerDevice: 0 is not a whole number at least 1; using 1',
      'ringkernel.preferredDevices: ["cuda:1",7,"gpu zero","cuda:1"] has 7, "gpu zero", which are not device keys like "cuda:0"; using ["cuda:1"]',
      'ringkernel.enableP2P: "yes" is not true or false; using true',
      'ringkernel.validation.debounceMs: 20000 is not a number at least 0 and at most 10000; using 10000',
      'ringkernel.kernels.stepTimeoutMs: 50 is not a number at least 100 and at most 600000; using 100',
      'ringkernel.kernels.checkpointIntervalSeconds: "often" is not a number; using 10',
    ],
  );
  assert.equal(read.settings['kernels.reloadOnSave'], false, 'a good value next to bad ones applies');
  assert.equal(read.settings.maxKernelsPerDevice, 1);
  assert.deepEqual(read.settings.preferredDevices, ['cuda:1']);
  assert.equal(readSettings({ loadBalancing: 'round_robin' }).settings.loadBalancing, 'roundRobin');
  assert.equal(readSettings({ maxKernelsPerDevice: 2.6 }).settings.maxKernelsPerDevice, 3);
});

test('the reporter says each problem once, and again when it comes back after a fix', () => {
  const warnings: string[] = [];
  const reporter = new SettingsReporter({ warn: (m) => warnings.push(m) });
  const bad = readSettings({ enableP2P: 'yes' }).problems;
  reporter.report(bad);
  reporter.report(readSettings({ enableP2P: 'yes', kernels: { autoStart: false } }).problems);
  assert.equal(warnings.length, 1);
  reporter.report(readSettings({ enableP2P: 'yes', maxKernelsPerDevice: -1 }).problems);
  assert.equal(warnings.length, 2);
  reporter.report(readSettings({}).problems);
  reporter.report(bad);
  assert.equal(warnings.length, 3);
  assert.match(warnings[2] ?? '', /^ringkernel\.enableP2P: "yes"/);
});
