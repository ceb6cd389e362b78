// The rule for how much of the outbox a step copies back in its own submission (stepRunner.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALWAYS_COPIED_SLOTS, outboxSlotsToCopy } from '../../server/src/hosts/child/stepRunner';

test('an outbox of up to ALWAYS_COPIED_SLOTS slots comes back whole, whatever the last step sent', () => {
  assert.equal(outboxSlotsToCopy(0, 0), 0);
  assert.equal(outboxSlotsToCopy(16, 0), 16);
  assert.equal(outboxSlotsToCopy(16, 1000), 16);
  assert.equal(outboxSlotsToCopy(ALWAYS_COPIED_SLOTS, 0), ALWAYS_COPIED_SLOTS);
});

test('a larger outbox gets the prefix, grown to what the previous step sent, never past the capacity', () => {
  const capacity = 16 * ALWAYS_COPIED_SLOTS;
  assert.equal(outboxSlotsToCopy(capacity, 0), ALWAYS_COPIED_SLOTS);
  assert.equal(outboxSlotsToCopy(capacity, ALWAYS_COPIED_SLOTS - 1), ALWAYS_COPIED_SLOTS);
  assert.equal(outboxSlotsToCopy(capacity, 3000), 3000);
  assert.equal(outboxSlotsToCopy(capacity, capacity + 50), capacity);
  assert.equal(outboxSlotsToCopy(-1, 10), 0);
});
