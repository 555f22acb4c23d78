import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sdk } from './load.mjs';

const snomed = await sdk('snomed.js');

test('real identifiers pass the Verhoeff check', () => {
  for (const code of [
    '91936005', // Allergy to penicillin
    '394814009', // General practice
    '26643006', // Oral route
    '372756006', // Warfarin (substance)
    '39695211000001102', // dm+d VMP: Simvastatin 40mg tablets
    '372567009', // Metformin (substance): needs row 4 of the permutation table right
    '386872004', // Ramipril (substance)
    '372767007', // Fluoxetine (substance)
  ]) {
    assert.equal(snomed.checkSctId(code), undefined, code);
    assert.ok(snomed.isSctId(code), code);
  }
});

test('a wrong check digit fails as check-digit', () => {
  const e = snomed.checkSctId('91936006');
  assert.equal(e.kind, 'check-digit');
  assert.equal(e.message, "'91936006' is not a SNOMED CT identifier: its Verhoeff check digit is wrong");
});

test('length, digits and leading zero fail as format', () => {
  for (const code of ['01936005', '12345', '9193600x', '1234567890123456789', '']) {
    assert.equal(snomed.checkSctId(code)?.kind, 'format', code);
  }
  assert.equal(
    snomed.checkSctId('12345').message,
    "'12345' is not a SNOMED CT identifier: it must be 6 to 18 digits with no leading zero",
  );
});

test('code systems', () => {
  assert.ok(snomed.isSnomedSystem('http://snomed.info/sct'));
  assert.ok(snomed.isSnomedSystem('https://dmd.nhs.uk'));
  assert.equal(snomed.isSnomedSystem('http://loinc.org'), false);
  const gp = snomed.snomedCoding('394814009', 'General practice');
  assert.deepEqual(gp, { system: 'http://snomed.info/sct', code: '394814009', display: 'General practice' });
  assert.ok(snomed.isSnomedCode(gp, '394814009'));
  assert.ok(snomed.isSnomedCode(snomed.dmdCoding('394814009', 'x'), '394814009'));
});
