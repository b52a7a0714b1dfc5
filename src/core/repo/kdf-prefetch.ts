/**
 * Key derivations started before they are asked for. The repository key's
 * scrypt (N=2^16, restic's cost) is ~0.6 s of one core and the largest part of
 * a short command's start-up; Node runs it on the libuv thread pool, so start-up
 * begins it as soon as the password and key file are known
 * (prefetch-repository-key.ts) and the main thread meanwhile loads the CLI and
 * validates the runbook. When opening the repository then derives the same
 * key, it takes the derivation already under way instead of starting another.
 *
 * Only an exact match is taken — the same password, salt and parameters — so
 * the key is the one a fresh derivation would give; each is taken once and
 * then dropped, so no derived key stays in memory longer than the command's
 * own copy. A derivation that fails is ignored and the key derived afresh.
 */
/** crypto.ts's ScryptParams, restated: crypto.ts imports this module, and the import graph has no circles. */
interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

interface Started {
  password: string;
  salt: Buffer;
  params: ScryptParams;
  key: Promise<Buffer>;
}

const started: Started[] = [];
/** A prefetch of a planted or stale key file that is never taken must not pile up work. */
const MAX_STARTED = 2;

const same = (s: Started, password: string, salt: Buffer, params: ScryptParams): boolean =>
  s.password === password && s.salt.equals(salt) && s.params.N === params.N && s.params.r === params.r && s.params.p === params.p;

/** Starts `derive` for these inputs unless one is already under way (or too many are); true when one is under way after the call. */
export function startDerivation(password: string, salt: Buffer, params: ScryptParams, derive: () => Promise<Buffer>): boolean {
  if (started.some((s) => same(s, password, salt, params))) return true;
  if (started.length >= MAX_STARTED) return false;
  const key = derive();
  // Nobody may ever take it (the command failed before opening the repository): that is no unhandled rejection.
  key.catch(() => undefined);
  started.push({ password, salt: Buffer.from(salt), params: { N: params.N, r: params.r, p: params.p }, key });
  return true;
}

/** The derivation started for exactly these inputs, removed from the list; undefined when there is none. */
export function takeDerivation(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> | undefined {
  const at = started.findIndex((s) => same(s, password, salt, params));
  if (at === -1) return undefined;
  const [taken] = started.splice(at, 1);
  return taken!.key;
}

/** How many started derivations nobody has taken yet (for tests). */
export function untakenDerivations(): number {
  return started.length;
}
