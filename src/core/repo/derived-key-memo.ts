/**
 * Password-derived keys kept for a long-lived process's lifetime (issue 19:
 * `lifeboat agent`). Opening a repository derives the key-file key with
 * scrypt (N=2^16: ~0.3 s of a core here); an agent backing up 25 runbooks
 * every minute derived the same 25 keys again every minute, more CPU than the
 * backups themselves (bench/fleet.ts). Off unless the process turns it on: a
 * one-shot command derives once anyway and keeps nothing.
 *
 * What is kept is exactly what scrypt would return for the same password,
 * salt and parameters, so nothing is weakened: the key file is still opened
 * and authenticated with it, the config's MAC still checked, and a changed
 * password or a new key file (new salt) misses and derives afresh. The
 * entries are looked up by a SHA-256 of the inputs, never by the password,
 * and only this process's memory holds them, as it holds the master key
 * while a job runs. A failed derivation is not kept.
 */
import { createHash } from 'node:crypto';

export interface KdfInputs {
  N: number;
  r: number;
  p: number;
}

/** A host with more repositories than this derives the oldest again; a bound, so planted key files cannot grow it forever. */
const MAX_KEYS = 1_024;

let memo: Map<string, Promise<Buffer>> | undefined;
const counts = { derived: 0, remembered: 0 };

/** From now on this process keeps every key it derives (an agent calls this at start). */
export function rememberDerivedKeys(): void {
  memo ??= new Map();
}

/** Forget every kept key and stop keeping them (tests; a process that no longer needs them). */
export function forgetDerivedKeys(): void {
  memo = undefined;
}

/** Derivations done and ones answered from memory since start (for tests and the bench). */
export function derivedKeyCounts(): { derived: number; remembered: number } {
  return { ...counts };
}

function memoKey(password: string, salt: Buffer, params: KdfInputs): string {
  return createHash('sha256').update(`${params.N}:${params.r}:${params.p}\0`).update(salt).update('\0').update(password, 'utf8').digest('hex');
}

/** `derive()`'s key, or the one it gave before for the same inputs when keys are kept. */
export function rememberedDerivation(password: string, salt: Buffer, params: KdfInputs, derive: () => Promise<Buffer>): Promise<Buffer> {
  if (!memo) {
    counts.derived++;
    return derive();
  }
  const key = memoKey(password, salt, params);
  const kept = memo.get(key);
  if (kept) {
    counts.remembered++;
    // Most recently used last: the oldest goes first when the memo is full.
    memo.delete(key);
    memo.set(key, kept);
    return kept;
  }
  counts.derived++;
  const table = memo;
  const derived = derive();
  table.set(key, derived);
  derived.catch(() => table.delete(key));
  if (table.size > MAX_KEYS) table.delete(table.keys().next().value!);
  return derived;
}
