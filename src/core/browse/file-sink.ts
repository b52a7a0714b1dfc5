/**
 * `dump --output FILE`: the bytes go to a temporary file beside FILE, renamed
 * over it only once the dump has finished, so a dump that fails half-way
 * leaves no half a file under the name asked for.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LifeboatError } from '../errors.js';
import type { ByteSink } from './dump.js';

export interface FileSink extends ByteSink {
  /** Flush, close and move into place. */
  commit(): Promise<void>;
  /** Close and remove the temporary file (after a failure). */
  discard(): Promise<void>;
}

export async function fileSink(file: string, options: { overwrite?: boolean } = {}): Promise<FileSink> {
  if (options.overwrite !== true && (await exists(file))) {
    throw new LifeboatError('USAGE', `${file} exists; choose another --output, or pass --force to replace it`);
  }
  const temp = join(dirname(file), `.${basename(file)}.lifeboat-${randomBytes(4).toString('hex')}.partial`);
  let handle: FileHandle | undefined = await open(temp, 'wx', 0o600);
  return {
    isTTY: false,
    async write(chunk) {
      await handle!.write(chunk);
    },
    async commit() {
      await handle!.sync();
      await handle!.close();
      handle = undefined;
      await rename(temp, file);
    },
    async discard() {
      await handle?.close().catch(() => undefined);
      handle = undefined;
      await rm(temp, { force: true });
    },
  };
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}
