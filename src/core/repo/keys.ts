/**
 * Key files (keys/<id>): the master key sealed under a key derived with scrypt
 * from the password. Several key files may wrap the same master key (one per
 * password); opening tries each until one authenticates.
 *
 * A key file is plaintext JSON anyone with write access to the bucket can
 * replace, so each is judged on its own before any work: named by the SHA-256
 * of its bytes, scrypt parameters within bounds (N = 2^30 would stall every
 * command for hours, or exhaust memory). A key file that fails is skipped with
 * a warning and the next one is tried: one planted file must not lock the
 * owners out.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { LifeboatError } from '../errors.js';
import { currentUser } from '../process-info.js';
import type { Backend } from '../backends/backend.js';
import { assertNamedByContent, kindAd, nameOf } from './binding.js';
import { defaultScryptParams, deriveKey, seal, tryOpen, type MasterKey, type ScryptParams } from './crypto.js';
import { scryptParamsProblem } from './scrypt-bounds.js';

interface KeyFile {
  kdf: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
  /** seal(kdfKey, JSON {encryption, mac, chunkerSeed[, version, repository]} base64). */
  data: string;
  created: string;
  host: string;
  user: string;
}

export { scryptBounds, scryptParamsProblem } from './scrypt-bounds.js';

/** Format 2 key files say which repository and format they belong to, under authentication. */
export interface KeyBinding {
  version: number;
  repository: string;
}

export async function writeKeyFile(
  backend: Backend,
  password: string,
  master: MasterKey,
  params: ScryptParams = defaultScryptParams,
  binding?: KeyBinding,
): Promise<string> {
  const problem = scryptParamsProblem(params);
  if (problem) throw new LifeboatError('USAGE', `scrypt parameters refused: ${problem}`);
  const salt = randomBytes(32);
  const kdfKey = await deriveKey(password, salt, params);
  const inner = Buffer.from(
    JSON.stringify({
      encryption: master.encryption.toString('base64'),
      mac: master.mac.toString('base64'),
      chunkerSeed: master.chunkerSeed.toString('base64'),
      ...(binding ? { version: binding.version, repository: binding.repository } : {}),
    }),
  );
  const file: KeyFile = {
    kdf: 'scrypt',
    N: params.N,
    r: params.r,
    p: params.p,
    salt: salt.toString('base64'),
    data: seal(kdfKey, inner, binding ? kindAd('key') : undefined).toString('base64'),
    created: new Date().toISOString(),
    host: hostname(),
    user: currentUser(),
  };
  const bytes = Buffer.from(JSON.stringify(file, null, 2));
  const id = nameOf(bytes);
  await backend.save({ kind: 'keys', name: id }, bytes);
  return id;
}

export interface OpenedKey {
  key: MasterKey;
  /** The key file that opened. */
  name: string;
  /** What a format-2 key file says it belongs to (absent in format-1 key files). */
  binding?: KeyBinding;
  /** Key files skipped, each with why. */
  skipped: { name: string; problem: string }[];
}

/** The problem with a key file's own shape, before any password is tried; undefined if none. */
export function keyFileProblem(name: string, raw: Buffer): { problem: string } | { file: KeyFile } {
  try {
    assertNamedByContent('key', name, raw);
  } catch (e) {
    return { problem: (e as Error).message };
  }
  let file: KeyFile;
  try {
    file = JSON.parse(raw.toString('utf8')) as KeyFile;
  } catch {
    return { problem: `keys/${name.slice(0, 12)} is not valid JSON` };
  }
  if (typeof file !== 'object' || file === null || file.kdf !== 'scrypt') return { problem: `keys/${name.slice(0, 12)}: unknown kdf ${JSON.stringify((file as { kdf?: unknown } | null)?.kdf)}` };
  const problem = scryptParamsProblem(file);
  if (problem) return { problem: `keys/${name.slice(0, 12)}: ${problem}` };
  if (typeof file.salt !== 'string' || typeof file.data !== 'string') return { problem: `keys/${name.slice(0, 12)}: salt or data missing` };
  return { file };
}

export async function openMasterKey(backend: Backend, password: string): Promise<OpenedKey> {
  const names: string[] = [];
  for await (const info of backend.list('keys')) names.push(info.name);
  if (names.length === 0) throw new LifeboatError('REPO_CORRUPT', `repository at ${backend.location} has no key files (keys/ is empty)`);
  const skipped: OpenedKey['skipped'] = [];
  for (const name of names.sort()) {
    const judged = keyFileProblem(name, await backend.load({ kind: 'keys', name }));
    if ('problem' in judged) {
      skipped.push({ name, problem: judged.problem });
      continue;
    }
    const { file } = judged;
    const kdfKey = await deriveKey(password, Buffer.from(file.salt, 'base64'), { N: file.N, r: file.r, p: file.p });
    const sealed = Buffer.from(file.data, 'base64');
    // Format 2 key files are bound to their kind; format-1 ones (still valid: other passwords' files are never rewritten) are not.
    const inner = tryOpen(kdfKey, sealed, kindAd('key')) ?? tryOpen(kdfKey, sealed);
    if (!inner) continue;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(inner.toString('utf8')) as Record<string, unknown>;
    } catch {
      skipped.push({ name, problem: `keys/${name.slice(0, 12)}: opens, but holds no valid JSON` });
      continue;
    }
    const keyOf = (field: string) => Buffer.from(typeof parsed[field] === 'string' ? parsed[field] : '', 'base64');
    const key: MasterKey = { encryption: keyOf('encryption'), mac: keyOf('mac'), chunkerSeed: keyOf('chunkerSeed') };
    if (key.encryption.length !== 32 || key.mac.length !== 32 || key.chunkerSeed.length !== 32) {
      skipped.push({ name, problem: `keys/${name.slice(0, 12)}: opens, but its keys are not 32 bytes each` });
      continue;
    }
    const binding =
      typeof parsed.version === 'number' && typeof parsed.repository === 'string' ? { version: parsed.version, repository: parsed.repository } : undefined;
    return { key, name, binding, skipped };
  }
  const why = skipped.length > 0 ? ` (skipped ${skipped.length} unusable key file(s): ${skipped.map((s) => s.problem).join('; ')})` : '';
  throw new LifeboatError('REPO_WRONG_PASSWORD', `wrong password for the repository at ${backend.location} (no key file opens with it)${why}`);
}
