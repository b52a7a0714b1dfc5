import { LifeboatError } from '../errors.js';
import { objectPath, type FileKind, type Handle } from './backend.js';

/**
 * Object names are ids chosen by the repository layer (hex digests, or
 * "config"), never operator input. Every backend checks them anyway so that a
 * bug can never turn a name into a path outside its kind (`../keys/x`), collide
 * with a backend's own temp files (`.tmp-*`), or land in a data fan-out folder
 * that `list` does not walk.
 */
const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const dataNamePattern = /^[0-9a-f]{2}/;

/** What a valid name of this kind looks like, or undefined when `name` is valid. */
function nameProblem(kind: FileKind, name: string): string | undefined {
  if (kind === 'config') return name === 'config' ? undefined : 'the name "config"';
  if (!namePattern.test(name)) {
    return 'letters, digits, ".", "_" or "-", not starting with "." or "-", at most 200 characters';
  }
  if (kind === 'data' && !dataNamePattern.test(name)) {
    return 'a data name starting with two lowercase hex digits (its fan-out folder)';
  }
  return undefined;
}

/** Could `name` have been saved under `kind`? Listings skip foreign files that fail this. */
export function isValidName(kind: FileKind, name: string): boolean {
  return nameProblem(kind, name) === undefined;
}

/** Throws INTERNAL (a bug in the caller, permanent) when a handle's name is not valid for its kind. */
export function checkHandle(handle: Handle): void {
  const { kind, name } = handle;
  const expected = nameProblem(kind, name);
  if (expected !== undefined) {
    throw new LifeboatError('INTERNAL', `invalid ${kind} object name ${JSON.stringify(name)} (expected ${expected})`, {
      details: { kind, name },
    });
  }
}

/** Where a handle lives, after checking its name (see `objectPath`). */
export function checkedObjectPath(handle: Handle): string {
  checkHandle(handle);
  return objectPath(handle);
}

/** A range argument checked for shape (not against the object's size). */
export function checkRange(range: { offset: number; length: number }, where: string): void {
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new LifeboatError(
      'INTERNAL',
      `invalid range offset=${offset} length=${length} for ${where} (expected non-negative integers)`,
      { details: { offset, length } },
    );
  }
}

/** The error every backend raises for a range that goes past the end of an object. */
export function rangeError(where: string, range: { offset: number; length: number }, size: number): LifeboatError {
  return new LifeboatError(
    'BACKEND_IO',
    `short read from ${where}: wanted ${range.length} bytes at offset ${range.offset}, but the object has ${size} bytes`,
    { details: { offset: range.offset, length: range.length, size } },
  );
}

/**
 * The error for an object an unranged load refuses by size (see maxLoadBytes
 * in backend.ts). `streamed`: the size is what arrived before reading stopped.
 */
export function tooLargeError(where: string, kind: FileKind, size: number, max: number, streamed = false): LifeboatError {
  const has = streamed ? `the store sent more than the ${max} bytes a ${kind} object may have (at least ${size}); stopped reading` : `the object has ${size} bytes, more than the ${max} a ${kind} object may have; not read`;
  return new LifeboatError('BACKEND_IO', `load ${where}: ${has} (a damaged or tampered store)`, {
    details: { op: 'load', kind, size, max },
  });
}
