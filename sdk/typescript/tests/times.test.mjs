import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sdk } from './load.mjs';

const t = await sdk('times.js');

test('units are milliseconds, as bigint', () => {
  assert.equal(t.MINUTE, 60_000n);
  assert.equal(t.HOUR, 3_600_000n);
  assert.equal(t.DAY, 86_400_000n);
});

test('start of day, days between, also before 1970', () => {
  const at = t.parseDate('2026-11-23') + 10n * t.HOUR;
  assert.equal(t.startOfDay(at), at - 10n * t.HOUR);
  assert.equal(t.daysBetween(at, at + 2n * t.DAY), 2n);
  assert.equal(t.startOfDay(-1n), -t.DAY);
  assert.equal(t.startOfDay(0n), 0n);
});

test('dates', () => {
  assert.equal(t.parseDate('1970-01-02'), t.DAY);
  assert.equal(t.parseDate('2025-02-30'), undefined);
  assert.equal(t.parseDate('2025-13-01'), undefined);
  assert.equal(t.parseDate('nonsense'), undefined);
  assert.equal(t.daysFromCivil(2000, 3, 1), 11_017n);
  assert.equal(t.formatDate(t.parseDate('2030-01-07')), '2030-01-07');
  assert.equal(t.formatDateTime(t.parseDate('2030-01-07') + 9n * t.HOUR + 45n * t.MINUTE), '2030-01-07 09:45');
});

test('ages', () => {
  const at = t.parseDate('2026-11-23') + 10n * t.HOUR;
  assert.equal(t.ageInYears('1960-11-23', at), 66);
  assert.equal(t.ageInYears('1960-11-24', at), 65);
  assert.equal(t.ageInYears('not a date', at), undefined);
});
