/**
 * The spool: a durable, ordered queue of store writes kept on local disk while
 * the state store cannot be reached, under the state folder
 * (`<LIFEBOAT_HOME>/spool/`).
 *
 * Format (version 1): one file per write, `<ms>-<counter>-<pid>.json`, holding
 * `{"v":1,"op":"putRun"|"putDrill"|"appendAudit","record":{…},"at":…,"where":…,"pid":…,"host":…}`.
 * - A file is written whole or not at all: temp file, fsync, rename, fsync of
 *   the folder (durable-file.ts). Once `append` returns, the write survives a
 *   crash or a power cut; a temp file a killed writer left is never listed.
 * - Order is the names' order: `<ms>` (zero-padded, never going back within a
 *   process) then a per-process counter. One process's writes replay in the
 *   order it made them; two processes' writes interleave by time, which is
 *   enough because a record (a run, a drill, an audit entry) is only ever
 *   written by the process that owns it.
 * - An entry leaves the spool only once the store has committed it, so a crash
 *   mid-replay replays that entry again: every spooled write is an upsert by id
 *   in the store (postgres-store.ts: `ON CONFLICT (id) DO UPDATE`), so twice is once.
 * - Entries the store refuses for a real reason (not an outage) are moved to
 *   `rejected/` with the reason beside them, never deleted: a replay must not
 *   stall behind one bad record, nor lose it.
 *
 * Appending takes no lock (a backup never waits on another process to spool).
 * Replaying takes `replay.lock` (file-lock.ts), tried once: a process that
 * finds it held leaves the replay to its holder and spools behind it.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isLifeboatError } from '../../errors.js';
import { processAlive } from '../../process-info.js';
import type { AuditRecord, DrillRecord, RunRecord } from '../records.js';
import { isErrno, replaceFileDurably, syncFolder } from '../durable-file.js';
import { withFileLock, type LockSettings } from '../file-lock.js';

export type SpoolOp = { op: 'putRun'; record: RunRecord } | { op: 'putDrill'; record: DrillRecord } | { op: 'appendAudit'; record: AuditRecord };

export type SpoolEntry = SpoolOp & {
  v: 1;
  /** When it was spooled. */
  at: string;
  /** The store it was meant for (host:port/database), for whoever reads the file. */
  where: string;
  pid: number;
  host: string;
};

/** The spool of a state folder. */
export function spoolDirOf(home: string): string {
  return join(home, 'spool');
}

const ENTRY = /^\d{15}-\d{8}-\d+\.json$/;

/**
 * Shared by every Spool of this process: names never go back in time within
 * a process, even when the wall clock does, and never repeat.
 */
const naming = { lastMs: 0, counter: 0 };

/**
 * A replay holds the lock for as long as the store takes to answer; a holder
 * killed mid-replay leaves it, and it is taken over once unrefreshed this long
 * (meanwhile the others spool behind it).
 */
const REPLAY_LOCK: LockSettings = { timeoutMs: 0, staleMs: 10_000 };

export class Spool {
  constructor(
    readonly dir: string,
    private readonly lockSettings: LockSettings = REPLAY_LOCK,
  ) {
    // Tried once, whatever the caller's timeout: a replay never waits for another.
    this.lockSettings = { ...lockSettings, timeoutMs: 0 };
  }

  /** Durably appends one write; returns its entry name. */
  async append(op: SpoolOp, where: string, now = new Date()): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    naming.lastMs = Math.max(naming.lastMs, now.getTime());
    naming.counter++;
    const name = `${String(naming.lastMs).padStart(15, '0')}-${String(naming.counter).padStart(8, '0')}-${process.pid}.json`;
    const entry: SpoolEntry = { v: 1, ...op, at: now.toISOString(), where, pid: process.pid, host: hostname() };
    // Records hold no secret values (the store is written through redaction), but history is not for every local user.
    await replaceFileDurably(join(this.dir, name), `${JSON.stringify(entry)}\n`, 0o600);
    return name;
  }

  /** The entries waiting, oldest first. */
  async names(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return [];
      throw e;
    }
    return names.filter((n) => ENTRY.test(n)).sort();
  }

  async isEmpty(): Promise<boolean> {
    return (await this.names()).length === 0;
  }

  /** The entry, or undefined when another replayer took it meanwhile. */
  async read(name: string): Promise<SpoolEntry | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.dir, name), 'utf8');
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return undefined;
      throw e;
    }
    const entry = JSON.parse(text) as SpoolEntry;
    if (entry.v !== 1 || !['putRun', 'putDrill', 'appendAudit'].includes(entry.op)) {
      throw new Error(`spool entry ${name} is not a version 1 putRun, putDrill or appendAudit`);
    }
    return entry;
  }

  /** Removes a replayed entry. Not fsync'd one by one: an entry that comes back after a crash is replayed again, which changes nothing. */
  async remove(name: string): Promise<void> {
    await rm(join(this.dir, name), { force: true });
  }

  /** Moves an entry the store refused to `rejected/`, with why beside it. */
  async reject(name: string, why: string): Promise<string> {
    const dir = join(this.dir, 'rejected');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(join(dir, `${name}.why.txt`), `${why}\n`, { mode: 0o600 });
    await rename(join(this.dir, name), join(dir, name));
    await syncFolder(this.dir);
    return join(dir, name);
  }

  /**
   * Removes the temp files of writers that died mid-append (durable-file.ts
   * names them `<entry>.tmp-<pid>`): their append never returned, so nobody
   * counted on them. A live process's temp file is its append in progress.
   */
  async sweepTemps(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return;
      throw e;
    }
    for (const name of names) {
      const pid = /\.json\.tmp-(\d+)$/.exec(name)?.[1];
      if (pid === undefined || Number(pid) === process.pid || processAlive(Number(pid))) continue;
      await rm(join(this.dir, name), { force: true });
    }
  }

  /** Makes the removals of a replay durable. */
  async sync(): Promise<void> {
    try {
      await syncFolder(this.dir);
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
  }

  /**
   * Runs `fn` holding the replay lock, or returns `{ busy: true }` at once when
   * another process holds it (or took it over while `fn` ran).
   */
  async withReplayLock<T>(fn: () => Promise<T>): Promise<{ busy: false; value: T } | { busy: true }> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    let ran = false;
    try {
      const value = await withFileLock(join(this.dir, 'replay'), this.lockSettings, async () => {
        ran = true;
        return fn();
      });
      return { busy: false, value };
    } catch (e) {
      // Held by another replayer (or lost to one after `fn`: what `fn` applied is applied either way).
      if (isLifeboatError(e, 'STORE_LOCKED') && (!ran || /Lost the lock/.test(e.message))) return { busy: true };
      throw e;
    }
  }
}
