import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sdk } from './load.mjs';

const nhs = await sdk('nhs-number.js');

test('a valid NHS number passes', () => {
  assert.equal(nhs.check('9434765919'), undefined);
  assert.ok(nhs.isValid('9434765919'));
});

test('a wrong check digit fails as check-digit, with the Rust message', () => {
  const e = nhs.check('9434765918');
  assert.equal(e.kind, 'check-digit');
  assert.equal(
    e.message,
    "'9434765918' is not a valid NHS number: its check digit is wrong (Modulus 11); check it was copied correctly",
  );
});

test('anything but exactly ten digits fails as format, with the Rust message', () => {
  for (const text of ['943476591', '94347659190', '943476591x', '943 476 59', '', '９４３４７６５９１９']) {
    const e = nhs.check(text);
    assert.equal(e?.kind, 'format', text);
  }
  assert.equal(
    nhs.check('12345').message,
    "'12345' is not an NHS number: an NHS number is exactly 10 digits with no spaces",
  );
});

test('a check of 10 is invalid whatever the last digit', () => {
  // 6 x 2 = 12; 12 mod 11 = 1; 11 - 1 = 10: no check digit can match.
  for (let last = 0; last < 10; last++) {
    assert.equal(nhs.isValid(`000000006${last}`), false);
  }
});

test('a check of 11 means 0', () => {
  // A weighted sum of 0: 11 - 0 = 11, so the check digit is 0.
  assert.ok(nhs.isValid('0000000000'));
});

test('the test range', () => {
  assert.ok(nhs.isTestNumber('9990000018'));
  assert.ok(nhs.isTestNumber('9990000026'));
  assert.equal(nhs.isTestNumber('9434765919'), false);
  assert.equal(nhs.isTestNumber('9990000019'), false);
});
