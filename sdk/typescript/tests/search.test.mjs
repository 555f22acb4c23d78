import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sdk } from './load.mjs';

const search = await sdk('scheduling/search.js');
const { DAY } = await sdk('times.js');

const start = 1_893_974_400_000n; // 2030-01-07T00:00Z
const period = (days) => ({ period: { start, end: start + days } });

function refusedAtPeriod(message) {
  return (e) =>
    e.code === 'invalid' &&
    e.payload.issues[0].expression === 'period' &&
    e.payload.issues[0].diagnostics === message;
}

test('a window that ends after it starts and spans at most 14 days is accepted', () => {
  assert.doesNotThrow(() => search.checkSearch(period(1n)));
  assert.doesNotThrow(() => search.checkSearch(period(14n * DAY)));
});

test('a window that does not end after it starts is invalid at period', () => {
  const message = 'the search period must end after it starts';
  assert.throws(() => search.checkSearch(period(0n)), refusedAtPeriod(message));
  assert.throws(() => search.checkSearch(period(-DAY)), refusedAtPeriod(message));
});

test('a window over 14 days is invalid at period', () => {
  assert.throws(
    () => search.checkSearch(period(14n * DAY + 1n)),
    refusedAtPeriod('the search period spans more than 14 days: search a shorter window'),
  );
});

test('applyLimit keeps at most the limit, or all without one', () => {
  assert.deepEqual(search.applyLimit([1, 2, 3], 2), [1, 2]);
  assert.deepEqual(search.applyLimit([1, 2, 3], 0), []);
  assert.deepEqual(search.applyLimit([1, 2, 3], undefined), [1, 2, 3]);
  assert.deepEqual(search.applyLimit([1], 5), [1]);
});

test('GP Connect limits', () => {
  assert.equal(search.MAX_DESCRIPTION, 100);
  assert.equal(search.MAX_COMMENT, 500);
  assert.equal(search.MAX_SEARCH_DAYS, 14n);
});
