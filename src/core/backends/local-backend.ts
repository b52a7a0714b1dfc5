import { randomBytes } from 'node:crypto';
import type { Dirent, Stats } from 'node:fs';
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize } from 'node:path';
import { systemClock, type Clock } from '../clock.js';
import { LifeboatError, isLifeboatError } from '../errors.js';
import { fileKinds, maxLoadBytes, type Backend, type FileKind, type Handle, type ObjectInfo, type SaveOptions } from './backend.js';
import { checkRange, checkedObjectPath, isValidName, rangeError, tooLargeError } from './object-name.js';

/** Temp files are written next to their final name so the rename stays on one file system. */
export const tempFilePrefix = '.tmp-';

/** A save takes seconds at most; a temp file an hour old was left by a killed process. */
const defaultStaleTempMs = 60 * 60 * 1000;

/** Repository files hold keys and encrypted data: owner-only, like restic's local backend. */
const fileMode = 0o600;
const dirMode = 0o700;

const fanOutFolder = /^[0-9a-f]{2}$/;

/** How many `stat` calls a listing keeps in flight at once. */
const listStatConcurrency = 64;

export interface LocalBackendOptions {
  /** `create()` and `removeStaleTempFiles()` delete temp files older than this (default one hour). */
  staleTempMs?: number;
  /** Where "now" comes from when judging temp files stale. */
  clock?: Clock;
}

/**
 * A repository in a local folder (`file:///abs/path`).
 *
 * - `save` writes `.tmp-<random>` in the object's own folder, fsyncs it, renames
 *   it over the final name and fsyncs the folder; folders it had to create are
 *   fsynced into their parents. A reader therefore sees no file or the whole file
 *   under the final name, and a resolved `save` survives a power cut.
 * - Data fan-out folders (`data/ab/`) are created on the first save into them.
 * - Temp files never show in `list`. A process killed mid-save leaves its temp
 *   file behind: `create()` deletes those older than `staleTempMs`, and so does
 *   `removeStaleTempFiles()`, which maintenance commands may call. A fresh temp
 *   file may belong to a save still running in another process, so it is kept.
 * - `remove` fsyncs the folder too, so a prune that deletes an index before its
 *   packs cannot see the packs gone and the index back after a crash.
 * - `SaveOptions.storageClass` means nothing on a local disk and is ignored.
 */
export class LocalBackend implements Backend {
  readonly location: string;
  private readonly root: string;
  private readonly staleTempMs: number;
  private readonly clock: Clock;

  constructor(root: string, options: LocalBackendOptions = {}) {
    if (!isAbsolute(root)) {
      throw new LifeboatError('USAGE', `a local repository needs an absolute path, got ${JSON.stringify(root)}`);
    }
    this.root = normalize(root).replace(/(.)\/+$/, '$1');
    if (dirname(this.root) === this.root) {
      throw new LifeboatError('USAGE', `refusing the file system root ${this.root} as a repository folder`);
    }
    this.location = this.root;
    this.staleTempMs = options.staleTempMs ?? defaultStaleTempMs;
    this.clock = options.clock ?? systemClock;
  }

  async save(handle: Handle, data: Uint8Array, _options?: SaveOptions): Promise<void> {
    const finalPath = this.pathOf(handle);
    const dir = dirname(finalPath);
    const tempPath = join(dir, tempFilePrefix + randomBytes(8).toString('hex'));
    let file: FileHandle | undefined;
    try {
      file = await this.openTemp(tempPath, dir);
      await file.writeFile(data);
      await file.sync();
      const closing = file;
      file = undefined;
      await closing.close();
      await rename(tempPath, finalPath);
      await syncFolder(dir);
    } catch (e) {
      await file?.close().catch(() => undefined);
      // After a successful rename this finds nothing, which is fine.
      await unlink(tempPath).catch(() => undefined);
      throw mapFsError(e, 'save', finalPath);
    }
  }

  /** A temp file in data/ (its fan-out folder is known only with the pack's name); see Backend.newPackFile. */
  async newPackFile(_maxBytes: number): Promise<string> {
    const folder = join(this.root, 'data');
    try {
      await this.makeFolders(folder); // a staging folder may not have one yet
    } catch (e) {
      throw mapFsError(e, 'save', folder);
    }
    return join(folder, tempFilePrefix + randomBytes(8).toString('hex'));
  }

  async discardPackFile(path: string): Promise<void> {
    this.checkPackFile(path);
    await unlink(path).catch(() => undefined);
  }

  private checkPackFile(path: string): void {
    if (dirname(path) !== join(this.root, 'data') || !basename(path).startsWith(tempFilePrefix)) {
      throw new LifeboatError('INTERNAL', `${path} is not a pack temp file of ${this.root}`);
    }
  }

  /**
   * As `save`, from a pack written into newPackFile's temp file: fsync it,
   * rename it to its name (across to its fan-out folder, on the same file
   * system), fsync that folder. Until the rename the pack is a temp file that
   * nothing lists, so a crash before it leaves only a stale temp file.
   */
  async savePackFile(handle: Handle, path: string, _options?: SaveOptions): Promise<void> {
    const finalPath = this.pathOf(handle);
    const dir = dirname(finalPath);
    this.checkPackFile(path);
    if (handle.kind !== 'data') throw new LifeboatError('INTERNAL', `savePackFile: ${handle.kind}/${handle.name} is not a data pack`);
    try {
      const file = await open(path, 'r');
      try {
        await file.sync();
      } finally {
        await file.close();
      }
      try {
        await rename(path, finalPath);
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') throw e;
        await this.makeFolders(dir); // the pack's fan-out folder was not there yet
        await rename(path, finalPath);
      }
      await syncFolder(dir);
    } catch (e) {
      // After a successful rename this finds nothing, which is fine.
      await unlink(path).catch(() => undefined);
      throw mapFsError(e, 'save', finalPath);
    }
  }

  async load(handle: Handle, range?: { offset: number; length: number }): Promise<Buffer> {
    const path = this.pathOf(handle);
    if (range !== undefined) checkRange(range, path);
    let file: FileHandle | undefined;
    try {
      file = await open(path, 'r');
      const { size } = await file.stat();
      if (range === undefined && size > maxLoadBytes[handle.kind]) throw tooLargeError(path, handle.kind, size, maxLoadBytes[handle.kind]);
      const wanted = range ?? { offset: 0, length: size };
      if (wanted.offset + wanted.length > size) throw rangeError(path, wanted, size);
      // Its own ArrayBuffer (not a slice of the shared pool), so callers may transfer it to a worker.
      const buffer = Buffer.allocUnsafeSlow(wanted.length);
      let done = 0;
      while (done < wanted.length) {
        const { bytesRead } = await file.read(buffer, done, wanted.length - done, wanted.offset + done);
        // The file shrank under us: only a foreign writer can do that (our saves replace by rename).
        if (bytesRead === 0) throw rangeError(path, wanted, wanted.offset + done);
        done += bytesRead;
      }
      return buffer;
    } catch (e) {
      throw mapFsError(e, 'load', path);
    } finally {
      await file?.close().catch(() => undefined);
    }
  }

  async stat(handle: Handle): Promise<ObjectInfo> {
    const path = this.pathOf(handle);
    try {
      const info = await stat(path);
      if (!info.isFile()) throw new LifeboatError('BACKEND_IO', `stat ${path}: not a regular file`, { details: { path } });
      return { name: handle.name, size: info.size };
    } catch (e) {
      throw mapFsError(e, 'stat', path);
    }
  }

  async *list(kind: FileKind): AsyncGenerator<ObjectInfo> {
    if (kind === 'config') {
      const path = join(this.root, 'config');
      const info = await statOrUndefined(path, 'list');
      if (info?.isFile() === true) yield { name: 'config', size: info.size };
      return;
    }
    const base = join(this.root, kind);
    if (kind !== 'data') {
      yield* this.listFolder(kind, base, undefined);
      return;
    }
    for (const entry of await readFolder(base)) {
      if (entry.isDirectory() && fanOutFolder.test(entry.name)) {
        yield* this.listFolder(kind, join(base, entry.name), entry.name);
      }
    }
  }

  async remove(handle: Handle): Promise<void> {
    const path = this.pathOf(handle);
    try {
      await unlink(path);
      await syncFolder(dirname(path));
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return;
      throw mapFsError(e, 'remove', path);
    }
  }

  async create(): Promise<void> {
    try {
      await this.makeFolders(this.root);
      for (const kind of fileKinds) {
        if (kind !== 'config') await this.makeFolders(join(this.root, kind));
      }
    } catch (e) {
      throw mapFsError(e, 'create', this.root);
    }
    await this.removeStaleTempFiles();
  }

  async exists(): Promise<boolean> {
    const info = await statOrUndefined(join(this.root, 'config'), 'exists');
    return info?.isFile() === true;
  }

  async close(): Promise<void> {
    // Nothing is held open between calls.
  }

  /**
   * Deletes temp files left by killed saves: those older than `olderThanMs`
   * (default: the backend's `staleTempMs`). Returns how many were deleted.
   */
  async removeStaleTempFiles(olderThanMs: number = this.staleTempMs): Promise<number> {
    const cutoff = this.clock.now().getTime() - olderThanMs;
    const folders = [this.root];
    for (const kind of fileKinds) {
      if (kind === 'config') continue;
      const folder = join(this.root, kind);
      folders.push(folder);
      if (kind === 'data') {
        for (const entry of await readFolder(folder)) {
          if (entry.isDirectory() && fanOutFolder.test(entry.name)) folders.push(join(folder, entry.name));
        }
      }
    }
    let removed = 0;
    for (const folder of folders) {
      for (const entry of await readFolder(folder)) {
        if (!entry.isFile() || !entry.name.startsWith(tempFilePrefix)) continue;
        const path = join(folder, entry.name);
        const info = await statOrUndefined(path, 'clean');
        if (info === undefined || info.mtimeMs >= cutoff) continue;
        try {
          await unlink(path);
          removed += 1;
        } catch (e) {
          if (errnoCode(e) !== 'ENOENT') throw mapFsError(e, 'clean', path);
        }
      }
    }
    return removed;
  }

  /** Objects are files under the folder (see Backend.localFile): workers read packs from them directly. */
  localFile(handle: Handle): string {
    return this.pathOf(handle);
  }

  private pathOf(handle: Handle): string {
    return join(this.root, checkedObjectPath(handle));
  }

  private async openTemp(tempPath: string, dir: string): Promise<FileHandle> {
    try {
      return await open(tempPath, 'wx', fileMode);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
    }
    await this.makeFolders(dir);
    return await open(tempPath, 'wx', fileMode);
  }

  /** mkdir -p, then fsync the parent of every folder it created so the new entries are durable. */
  private async makeFolders(dir: string): Promise<void> {
    const first = await mkdir(dir, { recursive: true, mode: dirMode });
    if (first === undefined) return;
    const stop = dirname(first);
    for (let parent = dirname(dir); ; parent = dirname(parent)) {
      await syncFolder(parent);
      if (parent === stop || parent === dirname(parent)) break;
    }
  }

  private async *listFolder(kind: FileKind, dir: string, fanOut: string | undefined): AsyncGenerator<ObjectInfo> {
    const names = (await readFolder(dir))
      .filter((e) => !e.isDirectory() && isValidName(kind, e.name))
      // A data file outside its own fan-out folder could never be loaded by name.
      .filter((e) => fanOut === undefined || e.name.startsWith(fanOut))
      .map((e) => e.name);
    for (let i = 0; i < names.length; i += listStatConcurrency) {
      const batch = names.slice(i, i + listStatConcurrency);
      const infos = await Promise.all(
        batch.map(async (name) => {
          // A file removed since readdir is simply not listed.
          const info = await statOrUndefined(join(dir, name), 'list');
          return info?.isFile() === true ? { name, size: info.size, modified: info.mtime } : undefined;
        }),
      );
      for (const info of infos) if (info !== undefined) yield info;
    }
  }
}

async function syncFolder(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The entries of a folder; a missing folder has none. */
async function readFolder(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return [];
    throw mapFsError(e, 'list', dir);
  }
}

async function statOrUndefined(path: string, op: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw mapFsError(e, op, path);
  }
}

function errnoCode(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string') return e.code;
  return undefined;
}

const permissionCodes = new Set(['EACCES', 'EPERM', 'EROFS']);
const diskFullCodes = new Set(['ENOSPC', 'EDQUOT']);
/** Faults of a network file system that go away on their own. */
const unavailableCodes = new Set(['ETIMEDOUT', 'EHOSTDOWN', 'EHOSTUNREACH', 'ENOTCONN', 'ECONNRESET', 'ESTALE']);
/** Local resource pressure: the same call can succeed a moment later. */
const transientCodes = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'EINTR']);

/**
 * Turns a file-system error into the Backend contract's codes. The message
 * names the operation and the path; `details.errno` keeps the system code.
 * A LifeboatError passes through unchanged.
 */
export function mapFsError(error: unknown, op: string, path: string): LifeboatError {
  if (isLifeboatError(error)) return error;
  const code = errnoCode(error);
  const details = { op, path, ...(code === undefined ? {} : { errno: code }) };
  const options = { cause: error, details };
  if (code === 'ENOENT') return new LifeboatError('BACKEND_NOT_FOUND', `${op} ${path}: not found`, options);
  if (code !== undefined && permissionCodes.has(code)) {
    const what = code === 'EROFS' ? 'read-only file system' : 'permission denied';
    return new LifeboatError('BACKEND_PERMISSION', `${op} ${path}: ${what} (${code})`, options);
  }
  if (code !== undefined && diskFullCodes.has(code)) {
    const what = code === 'EDQUOT' ? 'disk quota exceeded' : 'disk full';
    return new LifeboatError('BACKEND_IO', `${op} failed: ${what} at ${path} (${code})`, options);
  }
  if (code !== undefined && unavailableCodes.has(code)) {
    return new LifeboatError('BACKEND_UNAVAILABLE', `${op} ${path}: ${systemReason(error)} (${code})`, {
      ...options,
      retryable: true,
    });
  }
  const retryable = code !== undefined && transientCodes.has(code);
  const suffix = code === undefined ? '' : ` (${code})`;
  return new LifeboatError('BACKEND_IO', `${op} ${path}: ${systemReason(error)}${suffix}`, { ...options, retryable });
}

/** "not a directory" out of Node's "ENOTDIR: not a directory, open '/x/y'". */
function systemReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return /^[A-Z0-9]+: ([^,]+)/.exec(message)?.[1] ?? message;
}
