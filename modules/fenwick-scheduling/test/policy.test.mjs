// Fenwick's policy, in Node: sdk/typescript/test modules/fenwick-scheduling
// compiles src/ and sets PATCHBAY_MODULE_JS to the output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = process.env.PATCHBAY_MODULE_JS;
if (!dir) throw new Error('PATCHBAY_MODULE_JS is not set: run sdk/typescript/test modules/fenwick-scheduling');
const policy = await import(pathToFileURL(join(dir, 'policy.js')).href);

const MINUTE = 60_000n;
const HOUR = 60n * MINUTE;
const DAY = 24n * HOUR;
// The conformance suite's clock: Monday 2030-01-07, 08:00 UTC.
const now = BigInt(Date.UTC(2030, 0, 7, 8));

const slot = (id, deliveryChannel, startsIn) => ({
  id,
  deliveryChannel,
  period: { start: now + startsIn, end: now + startsIn + 15n * MINUTE },
});

test('telephone and video: from 30 minutes to 7 days ahead', () => {
  for (const channel of ['telephone', 'video']) {
    assert.equal(policy.bookable(slot('a', channel, 29n * MINUTE), now), false, channel);
    assert.equal(policy.bookable(slot('a', channel, 30n * MINUTE), now), true, channel);
    assert.equal(policy.bookable(slot('a', channel, 7n * DAY - 1n), now), true, channel);
    assert.equal(policy.bookable(slot('a', channel, 7n * DAY), now), false, channel);
  }
});

test('in person: from 2 days to 21 days ahead, so same-day care starts with a call', () => {
  assert.equal(policy.bookable(slot('a', 'in-person', 1n * HOUR), now), false);
  assert.equal(policy.bookable(slot('a', 'in-person', 2n * DAY - 1n), now), false);
  assert.equal(policy.bookable(slot('a', 'in-person', 2n * DAY), now), true);
  assert.equal(policy.bookable(slot('a', 'in-person', 21n * DAY - 1n), now), true);
  assert.equal(policy.bookable(slot('a', 'in-person', 21n * DAY), now), false);
  // An in-person slot 10 days ahead is fine; a telephone one is not.
  assert.equal(policy.bookable(slot('a', 'in-person', 10n * DAY), now), true);
  assert.equal(policy.bookable(slot('a', 'telephone', 10n * DAY), now), false);
});

test('refusals say what to do instead', () => {
  assert.match(policy.whyNotBookable(slot('s1', 'in-person', HOUR), now), /s1.*Book a telephone or video slot instead/);
  assert.match(policy.whyNotBookable(slot('s2', 'in-person', 30n * DAY), now), /up to 21 days ahead\. Choose an earlier slot/);
  assert.match(policy.whyNotBookable(slot('s3', 'telephone', MINUTE), now), /30 minutes' notice\. Choose a later slot, or telephone the practice/);
  assert.match(policy.whyNotBookable(slot('s4', 'video', 8n * DAY), now), /^video slot 's4'.*up to 7 days ahead/);
  assert.equal(policy.whyNotBookable(slot('s5', 'telephone', DAY), now), undefined);
});

test('offered keeps bookable slots in their order', () => {
  const slots = [
    slot('phone-now', 'telephone', 10n * MINUTE),
    slot('phone-1h', 'telephone', HOUR),
    slot('room-1h', 'in-person', HOUR),
    slot('room-3d', 'in-person', 3n * DAY),
    slot('video-6d', 'video', 6n * DAY),
    slot('phone-8d', 'telephone', 8n * DAY),
    slot('room-8d', 'in-person', 8n * DAY),
  ];
  assert.deepEqual(
    policy.offered(slots, now).map((s) => s.id),
    ['phone-1h', 'room-3d', 'video-6d', 'room-8d'],
  );
});

test('one future in-person appointment at a time', () => {
  assert.equal(policy.MAX_FUTURE_IN_PERSON, 1);
  assert.equal(policy.whyInPersonLimit([]), undefined);
  const why = policy.whyInPersonLimit([BigInt(Date.UTC(2030, 0, 10, 9, 15))]);
  assert.match(why, /already has an in-person appointment on 2030-01-10 09:15 UTC/);
  assert.match(why, /Cancel or move that appointment first, or book a telephone or video slot/);
});
