import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sdk } from './load.mjs';

const outcomes = await sdk('outcomes.js');

test('a refusal carries its outcome as an own payload, and at() points its issue', () => {
  const r = outcomes.invalid('the search period must end after it starts').at('period');
  assert.ok(r instanceof Error);
  assert.ok(Object.hasOwn(r, 'payload'));
  assert.deepEqual(r.payload, {
    issues: [
      {
        severity: 'error',
        code: 'invalid',
        diagnostics: 'the search period must end after it starts',
        expression: 'period',
      },
    ],
  });
  assert.equal(r.code, 'invalid');
  assert.equal(outcomes.codeOf(r), 'invalid');
});

test('each builder gives its issue code, and no expression until at()', () => {
  assert.equal(outcomes.notFound('x').code, 'not-found');
  assert.equal(outcomes.conflict('x').code, 'conflict');
  assert.equal(outcomes.businessRule('x').code, 'business-rule');
  assert.equal(outcomes.businessRule('x').payload.issues[0].expression, undefined);
});

test('codeOf reads a host error (an object with an outcome payload)', () => {
  const hostError = Object.assign(new Error('conflict'), {
    payload: { issues: [{ severity: 'error', code: 'conflict', diagnostics: 'taken' }] },
  });
  assert.equal(outcomes.codeOf(hostError), 'conflict');
  assert.equal(outcomes.codeOf(new Error('plain')), undefined);
  assert.equal(outcomes.codeOf(undefined), undefined);
});

test('checkNhsNumber throws invalid at the expression', () => {
  assert.doesNotThrow(() => outcomes.checkNhsNumber('9434765919', 'patient'));
  assert.throws(
    () => outcomes.checkNhsNumber('9434765918', 'patient'),
    (e) => e.code === 'invalid' && e.payload.issues[0].expression === 'patient',
  );
});

test('checkLength counts characters and throws too-long, never truncates', () => {
  assert.doesNotThrow(() => outcomes.checkLength(undefined, 100, 'description'));
  assert.doesNotThrow(() => outcomes.checkLength('é'.repeat(100), 100, 'description'));
  assert.throws(
    () => outcomes.checkLength('a'.repeat(101), 100, 'description'),
    (e) =>
      e.code === 'too-long' &&
      e.payload.issues[0].expression === 'description' &&
      e.payload.issues[0].diagnostics ===
        'description is 101 characters long; at most 100 are allowed. Shorten it: it is never truncated.',
  );
});
