/**
 * Reading the secrets a runbook refers to. Values are read only when needed and
 * never appear in messages, records or logs: errors name the variable or the
 * file, not what is in it.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, link, mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { LifeboatError } from '../errors.js';
import type { SecretRef } from './types.js';

export type SecretEnv = Readonly<Record<string, string | undefined>>;

function unavailable(message: string, details: Record<string, unknown>, cause?: unknown): LifeboatError {
  return new LifeboatError('SECRET_UNAVAILABLE', message, { details, cause });
}

const errno = (e: unknown) => (e as NodeJS.ErrnoException).code;

const PASSWORD = 'the repository password';

/**
 * The secret's value, with a trailing newline removed. Throws SECRET_UNAVAILABLE.
 * `purpose` names what the value is for in messages (default: the repository
 * password; for a child's variable, e.g. `the value of sources[db].env.PGPASSWORD`).
 */
export async function resolveSecret(ref: SecretRef, env: SecretEnv, purpose = PASSWORD): Promise<string> {
  if (ref.kind === 'env') {
    const value = env[ref.name];
    if (value === undefined) {
      throw unavailable(`Environment variable ${ref.name} is not set (the runbook reads ${purpose} from it)`, { env: ref.name });
    }
    if (value === '') throw unavailable(`Environment variable ${ref.name} is empty (expected ${purpose})`, { env: ref.name });
    return value;
  }
  const existing = await readKeyFile(ref.path, purpose);
  if (existing !== undefined) return existing;
  if (!ref.create) {
    const hint = purpose === PASSWORD ? 'create it with mode 600, or set create: true in the runbook to generate one' : `create it with mode 600; it holds ${purpose}`;
    throw unavailable(`Key file not found: ${ref.path} (${hint})`, { file: ref.path });
  }
  await createKeyFile(ref.path);
  const created = await readKeyFile(ref.path, purpose);
  if (created === undefined) throw unavailable(`Key file vanished right after it was created: ${ref.path}`, { file: ref.path });
  return created;
}

/**
 * The value behind a reference when it can be read now, else undefined: for
 * learning which values to redact, where a missing variable or key file is
 * not an error (the run that needs it reports it).
 */
export async function peekSecret(ref: SecretRef, env: SecretEnv): Promise<string | undefined> {
  if (ref.kind === 'env') return env[ref.name] || undefined;
  try {
    return await readKeyFile(ref.path, PASSWORD);
  } catch {
    return undefined;
  }
}

/** undefined when the file does not exist. */
async function readKeyFile(file: string, purpose: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (e) {
    if (errno(e) === 'ENOENT') return undefined;
    throw unavailable(`Cannot read key file ${file}: ${errno(e) ?? (e as Error).message}`, { file }, e);
  }
  try {
    // Checked on the open handle, so a file swapped between check and read is still the one checked.
    const st = await handle.stat();
    if (!st.isFile()) throw unavailable(`Key file ${file} is not a regular file`, { file });
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8);
      throw unavailable(
        `Key file ${file} is open to group or others (mode ${mode}); run: chmod 600 ${file}`,
        { file, mode },
      );
    }
    const value = (await handle.readFile('utf8')).replace(/\r?\n$/, '');
    if (value === '') throw unavailable(`Key file ${file} is empty (expected ${purpose})`, { file });
    return value;
  } catch (e) {
    if (e instanceof LifeboatError) throw e;
    throw unavailable(`Cannot read key file ${file}: ${errno(e) ?? (e as Error).message}`, { file }, e);
  } finally {
    await handle.close();
  }
}

/**
 * Writes a new random key without ever replacing one: the key goes to a private
 * temp file and is then hard-linked into place, which fails if another process
 * got there first. A rename would silently overwrite a key that process may
 * already have used to create a repository. The loser just reads the winner's key.
 */
async function createKeyFile(file: string): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(`${randomBytes(32).toString('base64url')}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await placeExclusively(tmp, file);
    await syncDir(dir);
  } catch (e) {
    if (e instanceof LifeboatError) throw e;
    throw unavailable(`Cannot create key file ${file}: ${errno(e) ?? (e as Error).message}`, { file }, e);
  } finally {
    await rm(tmp, { force: true });
  }
}

async function placeExclusively(tmp: string, file: string): Promise<void> {
  try {
    await link(tmp, file);
  } catch (e) {
    const code = errno(e);
    if (code === 'EEXIST') return;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw e;
    // File systems without hard links: an exclusive copy still never replaces a key.
    try {
      await copyFile(tmp, file, constants.COPYFILE_EXCL);
    } catch (e2) {
      if (errno(e2) !== 'EEXIST') throw e2;
    }
  }
}

/** Makes the new directory entry survive a crash; a key lost after use loses the repository. */
async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Not every platform can fsync a directory; the file itself is already synced.
  } finally {
    await handle?.close();
  }
}
