/**
 * Key files (keys/<id>): the master key sealed under a key derived with scrypt
 * from the password. Several key files may wrap the same master key (one per
 * password); opening tries each until one authenticates.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { LifeboatError } from '../errors.js';
import { currentUser } from '../process-info.js';
import type { Backend } from '../backends/backend.js';
import { defaultScryptParams, deriveKey, seal, tryOpen, type MasterKey, type ScryptParams } from './crypto.js';

interface KeyFile {
  kdf: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
  /** seal(kdfKey, JSON {encryption, mac, chunkerSeed} base64). */
  data: string;
  created: string;
  host: string;
  user: string;
}

export async function writeKeyFile(backend: Backend, password: string, master: MasterKey, params: ScryptParams = defaultScryptParams): Promise<string> {
  const salt = randomBytes(32);
  const kdfKey = await deriveKey(password, salt, params);
  const inner = Buffer.from(
    JSON.stringify({
      encryption: master.encryption.toString('base64'),
      mac: master.mac.toString('base64'),
      chunkerSeed: master.chunkerSeed.toString('base64'),
    }),
  );
  const file: KeyFile = {
    kdf: 'scrypt',
    ...params,
    salt: salt.toString('base64'),
    data: seal(kdfKey, inner).toString('base64'),
    created: new Date().toISOString(),
    host: hostname(),
    user: currentUser(),
  };
  const bytes = Buffer.from(JSON.stringify(file, null, 2));
  const id = createHash('sha256').update(bytes).digest('hex');
  await backend.save({ kind: 'keys', name: id }, bytes);
  return id;
}

export async function openMasterKey(backend: Backend, password: string): Promise<MasterKey> {
  const names: string[] = [];
  for await (const info of backend.list('keys')) names.push(info.name);
  if (names.length === 0) throw new LifeboatError('REPO_CORRUPT', `repository at ${backend.location} has no key files (keys/ is empty)`);
  for (const name of names.sort()) {
    const raw = await backend.load({ kind: 'keys', name });
    let file: KeyFile;
    try {
      file = JSON.parse(raw.toString('utf8')) as KeyFile;
    } catch {
      continue; // a damaged key file must not hide a good one
    }
    if (file.kdf !== 'scrypt') continue;
    const kdfKey = await deriveKey(password, Buffer.from(file.salt, 'base64'), { N: file.N, r: file.r, p: file.p });
    const inner = tryOpen(kdfKey, Buffer.from(file.data, 'base64'));
    if (!inner) continue;
    const parsed = JSON.parse(inner.toString('utf8')) as Record<string, string>;
    return {
      encryption: Buffer.from(parsed.encryption ?? '', 'base64'),
      mac: Buffer.from(parsed.mac ?? '', 'base64'),
      chunkerSeed: Buffer.from(parsed.chunkerSeed ?? '', 'base64'),
    };
  }
  throw new LifeboatError('REPO_WRONG_PASSWORD', `wrong password for the repository at ${backend.location} (no key file opens with it)`);
}
