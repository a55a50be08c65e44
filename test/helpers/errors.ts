/** Assertions on ModelSealError: the stable code (what callers branch on) and the message. */
import assert from 'node:assert/strict';
import { isModelSealError, type ErrorCode } from '../../src/errors.js';

function check(e: unknown, code: ErrorCode, pattern?: RegExp): true {
  assert.ok(isModelSealError(e), `not a ModelSealError: ${String(e)}`);
  assert.equal(e.code, code, e.message);
  if (pattern) assert.match(e.message, pattern);
  return true;
}

/** The promise rejects with a ModelSealError of this code (and a message matching `pattern`). */
export async function rejectsCode(promise: Promise<unknown>, code: ErrorCode, pattern?: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => check(e, code, pattern));
}

/** The call throws a ModelSealError of this code (and a message matching `pattern`). */
export function throwsCode(fn: () => unknown, code: ErrorCode, pattern?: RegExp): void {
  assert.throws(fn, (e: unknown) => check(e, code, pattern));
}
