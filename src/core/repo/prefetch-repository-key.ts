/**
 * Start-up's head start on the repository key (issue 20/22): from a runbook
 * argument, find the runbook's local repository and password the way the
 * loader would, judge the first key file as openMasterKey does, and start its
 * scrypt on the thread pool (kdf-prefetch.ts) — all before the CLI is loaded,
 * so the ~0.6 s derivation runs on the second core while the main thread
 * compiles the bundle and validates the runbook.
 *
 * Only a hint: nothing here is trusted or reported. The runbook is not
 * validated (the loader does that, as always), and a derivation is taken only
 * when opening the repository asks for exactly the same password, salt and
 * parameters. Anything unexpected — a shipped example, an S3 repository not
 * cached on this machine yet, a password that is not readable now, a key file that does not judge well —
 * just means no head start. It never creates a key file, never runs anything,
 * never writes, and it reads the key file the password is in with the same
 * checks (owner-only) as the loader.
 *
 * Deliberately light in imports (yaml and a few leaf modules): it is bundled
 * as its own entry (dist/key-prefetch.js) that bin/lifeboat.js loads first.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { metadataCacheFolder } from '../backends/cache-folder.js';
import { parseRepositoryUrl, resolvePath } from '../runbook/location.js';
import { peekSecret } from '../runbook/secrets.js';
import type { SecretRef } from '../runbook/types.js';
import { prefetchDerivedKey } from './crypto.js';
import { scryptParamsProblem } from './scrypt-bounds.js';

export interface PrefetchPlaces {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
}

const yamlExtension = /\.ya?ml$/i;
// An empty variable counts as unset, as in config/places.ts.
const setOr = (value: string | undefined, fallback: string): string => (value === undefined || value === '' ? fallback : value);

/** The runbook file a name or path most likely means (LIFEBOAT_RUNBOOKS or ./runbooks; lifeboat.yaml is not read here). */
async function runbookFile(ref: string, places: PrefetchPlaces): Promise<string | undefined> {
  if (ref.startsWith('examples/')) return undefined;
  if (ref.includes('/') || ref.includes(path.sep) || yamlExtension.test(ref)) return path.resolve(places.cwd, ref);
  const dir = path.resolve(places.cwd, setOr(places.env.LIFEBOAT_RUNBOOKS, 'runbooks'));
  const names = new Set(await readdir(dir));
  const found = [`${ref}.yaml`, `${ref}.yml`].filter((n) => names.has(n));
  // Two files for one name: the loader refuses it; no guessing here.
  return found.length === 1 ? path.join(dir, found[0]!) : undefined;
}

function passwordRef(value: unknown, where: { baseDir: string; home: string }): SecretRef | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { env, file } = value as { env?: unknown; file?: unknown };
  if (typeof env === 'string' && file === undefined) return { kind: 'env', name: env };
  if (typeof file === 'string' && env === undefined) return { kind: 'file', path: resolvePath(file, where), create: false };
  return undefined;
}

/**
 * The folder holding the runbook's key files and its password, when both can
 * be known now: a local repository's own folder, or for an S3 repository the
 * copy of its metadata the state folder keeps (metadata-cache.ts) — the copy
 * opening the repository reads its key file from too, so an S3 command's
 * derivation starts before the SDK loads and the bucket is listed, not after.
 * No cache yet (a first run on this machine): no head start.
 */
async function repositoryOf(ref: string, places: PrefetchPlaces): Promise<{ folder: string; password: string } | undefined> {
  const file = await runbookFile(ref, places);
  if (file === undefined) return undefined;
  const doc = parse(await readFile(file, 'utf8')) as { repository?: { hot?: { url?: unknown }; password?: unknown } } | null;
  const url = doc?.repository?.hot?.url;
  if (typeof url !== 'string') return undefined;
  const parsed = parseRepositoryUrl(url);
  if (typeof parsed === 'string') return undefined;
  const where = { baseDir: path.dirname(file), home: path.resolve(places.cwd, setOr(places.env.LIFEBOAT_HOME, '.lifeboat')) };
  const secret = passwordRef(doc?.repository?.password, where);
  const password = secret === undefined ? undefined : await peekSecret(secret, places.env);
  if (password === undefined) return undefined;
  return { folder: parsed.kind === 'file' ? resolvePath(parsed.path, where) : metadataCacheFolder(where.home, url), password };
}

/** The first key file (in name order, as openMasterKey tries them) that is named by its content and asks for allowed scrypt parameters. */
async function firstUsableKeyFile(folder: string): Promise<{ salt: Buffer; N: number; r: number; p: number } | undefined> {
  const keys = path.join(folder, 'keys');
  for (const name of (await readdir(keys)).sort()) {
    const raw = await readFile(path.join(keys, name)).catch(() => undefined);
    if (raw === undefined || createHash('sha256').update(raw).digest('hex') !== name) continue;
    let file: { kdf?: unknown; N?: unknown; r?: unknown; p?: unknown; salt?: unknown };
    try {
      file = JSON.parse(raw.toString('utf8')) as typeof file;
    } catch {
      continue;
    }
    if (file?.kdf !== 'scrypt' || typeof file.salt !== 'string' || scryptParamsProblem({ N: file.N, r: file.r, p: file.p }) !== undefined) continue;
    return { salt: Buffer.from(file.salt, 'base64'), N: file.N as number, r: file.r as number, p: file.p as number };
  }
  return undefined;
}

/**
 * Starts deriving the key of the runbook's repository, when it can be known
 * now; resolves to whether a derivation is under way. Never throws.
 */
export async function prefetchRepositoryKey(ref: string, places: PrefetchPlaces): Promise<boolean> {
  try {
    const repo = await repositoryOf(ref, places);
    if (repo === undefined) return false;
    const key = await firstUsableKeyFile(repo.folder);
    return key === undefined ? false : prefetchDerivedKey(repo.password, key.salt, { N: key.N, r: key.r, p: key.p });
  } catch {
    return false;
  }
}
