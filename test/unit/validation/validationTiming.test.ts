// When ValidationService validates: a change waits for the quiet time (the debounce), an open or a
// save starts its run in the same turn, with no timer at all, and a save replaces the debounced
// run still waiting for the same document. Timers are Node's mock timers, so nothing here waits
// for real time: a run that needed a timer would never publish until the test moves the clock.
// PTX files with our parser only, because it runs in-process (Metal's parser runs in a worker thread,
// whose answer takes real event-loop turns).
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { test } from 'node:test';
import type { Logger } from '../../../server/src/logger';
import { ValidationService } from '../../../server/src/validation/validationService';
import { ValidatorSet } from '../../../server/src/validation/validatorSet';

const quiet: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
const DEBOUNCE_MS = 250;

interface Publication {
  uri: string;
  version: number;
  codes: (string | number | undefined)[];
}

function service(published: Publication[]): ValidationService {
  return new ValidationService({
    logger: quiet,
    validators: new ValidatorSet({ logger: quiet }),
    debounceMs: DEBOUNCE_MS,
    contextFor: () => ({ parserOnly: true }),
    publish: (uri, version, outcome) => published.push({ uri, version, codes: outcome.diagnostics.map((d) => d.code) }),
  });
}

/** Version `version` of one PTX file: a valid module, or one with an instruction PTX does not have (an error). */
const ptx = (version: number, valid = true): { uri: string; languageId: string; version: number; text: string } => ({
  uri: 'file:///k.ptx',
  languageId: 'ptx',
  version,
  text: `.version 7.0\n.target sm_52\n.address_size 64\n.visible .entry k()\n{\n\t${valid ? 'ret' : 'frobnicate.u32'};\n}\n// v${version}\n`,
});

/** Lets every promise chain the runs started settle: our PTX parser needs no I/O, so a run is microtasks only. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await nextTurn();
}

test('a save is validated and published in the same turn, with no timer', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const published: Publication[] = [];
  const svc = service(published);
  try {
    svc.validateSoon(ptx(1));
    await settle();
    assert.deepEqual(
      published.map((p) => p.version),
      [1],
      'a save must not wait for a timer',
    );
  } finally {
    svc.dispose();
  }
});

test('a change waits for the debounce; the clock moving past it publishes', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const published: Publication[] = [];
  const svc = service(published);
  try {
    svc.schedule(ptx(2));
    await settle();
    assert.equal(published.length, 0, 'nothing before the quiet time');
    t.mock.timers.tick(DEBOUNCE_MS - 1);
    await settle();
    assert.equal(published.length, 0, 'nothing 1 ms before the quiet time either');
    t.mock.timers.tick(1);
    await settle();
    assert.deepEqual(
      published.map((p) => p.version),
      [2],
    );
  } finally {
    svc.dispose();
  }
});

test('a save replaces the debounced run of its change: one publication, at once, and none later', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const published: Publication[] = [];
  const svc = service(published);
  try {
    // What an editor sends on save after typing: the change (debounced), then the save.
    svc.schedule(ptx(3, false));
    svc.validateSoon(ptx(3, false));
    await settle();
    assert.deepEqual(
      published.map((p) => [p.version, p.codes]),
      [[3, ['unknown-instruction']]],
    );
    t.mock.timers.tick(DEBOUNCE_MS * 4);
    await settle();
    assert.equal(published.length, 1, 'the debounced run of the same version was dropped');
  } finally {
    svc.dispose();
  }
});

test('typing after a save: the save publishes, the newer change after its debounce only', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const published: Publication[] = [];
  const svc = service(published);
  try {
    svc.validateSoon(ptx(4));
    await settle();
    svc.schedule(ptx(5));
    svc.schedule(ptx(6));
    await settle();
    assert.deepEqual(
      published.map((p) => p.version),
      [4],
    );
    t.mock.timers.tick(DEBOUNCE_MS);
    await settle();
    assert.deepEqual(
      published.map((p) => p.version),
      [4, 6],
    );
  } finally {
    svc.dispose();
  }
});

test('a change during the run a save started cancels it: only the newer version is published', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const published: Publication[] = [];
  const svc = service(published);
  try {
    svc.validateSoon(ptx(7, false));
    // Arrives before the run has finished (it is still in its first microtask).
    svc.schedule(ptx(8));
    await settle();
    assert.equal(published.length, 0, 'the stale run is dropped, and the change still waits');
    t.mock.timers.tick(DEBOUNCE_MS);
    await settle();
    assert.deepEqual(
      published.map((p) => [p.version, p.codes]),
      [[8, []]],
    );
  } finally {
    svc.dispose();
  }
});
