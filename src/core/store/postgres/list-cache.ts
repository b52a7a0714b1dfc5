/**
 * The lists a long-running face asks for again and again, kept between changes.
 *
 * The console polls status every second, every /metrics scrape and every
 * Slack `/backup list` computes it too: each time the newest records of every
 * runbook (runs, drills, open alerts). On a team store with 500 runbooks that
 * is ~14,000 rows per read (issue 18), while between two reads usually one
 * runbook, or none, changed. So a list read twice is kept, split by runbook,
 * and only the runbooks PostgreSQL says changed are read again.
 *
 * What changed is told by the database, not guessed: every write to runs,
 * drills and alerts (any process, any path: a backup, the spool's replay, the
 * age pruning, an import) fires `NOTIFY lifeboat_changes, '<table> <runbook>'`
 * from a trigger (migrations.ts, schema 4), delivered after its commit. A
 * dedicated connection LISTENs. The rules that keep a kept list exact:
 *
 * - Nothing is kept until LISTEN is in place: a commit before it may be
 *   unannounced, so every read before then goes to the database.
 * - A read that a change overtakes is not trusted: each change bumps a counter,
 *   and a runbook's rows read while a change of it arrived stay stale (a read
 *   that began before the commit may or may not have seen it) — in a whole
 *   read as in a runbook's, so a list under a steady stream of writes is
 *   still kept, with the overtaken runbooks read again on the next ask.
 * - The listening connection lost (server restart, network): everything kept
 *   is dropped and reads go to the database until LISTEN is back.
 * - This process's own writes mark their runbook stale at once, without
 *   waiting for the notice, so a read after a write sees it.
 *
 * A one-shot command reads each list once, so no listener is started for it:
 * only a list asked for a second time starts one.
 */
import type { Pool, PoolClient } from 'pg';
import { groupByRunbook } from '../group-by-runbook.js';

/** A row of a list as the store reads it, with what orders it. */
export interface ListedRow<T> {
  record: T;
  runbook: string;
  /** The time column the list is ordered by (newest first), in epoch seconds (±Infinity for PostgreSQL's ±infinity). */
  at: number;
  /** The `written` column (bigserial), the tie-breaker: a later write first. */
  written: string;
}

export type CachedTable = 'runs' | 'drills' | 'alerts';

/** Reads a list's rows: of every runbook (`runbook` undefined), or of one. */
export type ListLoader<T> = (runbook?: string) => Promise<ListedRow<T>[]>;

export const CHANGE_CHANNEL = 'lifeboat_changes';

/** Lists kept at once (status and /metrics ask for about ten different ones); the least recently used goes first. */
const MAX_LISTS = 32;
/** More stale runbooks than this in one list: one read of the whole list beats many small ones. */
const MAX_PARTIAL_READS = 40;
/** After the listening connection failed, the next try is this much later (reads go to the database meanwhile). */
const RELISTEN_AFTER_MS = 5_000;

interface KeptList {
  table: CachedTable;
  /** Lists of one family differ only in the runbooks they name (ListOptions.runbooks): one of them is kept. */
  family: string;
  byRunbook: Map<string, ListedRow<unknown>[]>;
  /** Runbooks whose rows here may be out of date, with the change counter when they became so. */
  stale: Map<string, number>;
  /** Every runbook's rows in the store's order, as last merged; with `moved`, those runbooks' rows in it are out of date. */
  merged?: ListedRow<unknown>[];
  /** Runbooks whose rows changed since `merged` was made. */
  moved: Set<string>;
  /** The read of its stale runbooks under way. */
  refreshing?: Promise<void>;
}

/** What changed while a whole list was being read: those runbooks' rows are stale once it is kept; `all`: keep nothing. */
interface WhileRead {
  table: CachedTable;
  runbooks: Set<string>;
  all: boolean;
}

export class ListCache {
  readonly #pool: Pool;
  readonly #lists = new Map<string, KeptList>();
  /** The whole reads under way, each collecting the changes that overtake it. */
  readonly #reading = new Set<WhileRead>();
  readonly #asked = new Set<string>();
  #listener?: PoolClient;
  #starting?: Promise<void>;
  #failedAt = -Infinity;
  /** Every change notice, and every loss of the listener, counts one. */
  #changes = 0;
  #closed = false;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /** Whether lists are being kept (the listener is in place). */
  get live(): boolean {
    return this.#listener !== undefined;
  }

  /**
   * The list under `key` (the query's table and filters; the same key must
   * always mean the same query), kept or read. Rows come newest first by
   * (at, written), as the store orders them. `family`: lists that differ only
   * in the runbooks named (a console whose catalog changed) replace each
   * other instead of piling up until the least recently used goes.
   */
  async list<T>(key: string, table: CachedTable, load: ListLoader<T>, family: string = key): Promise<T[]> {
    if (!this.live) {
      if (this.#asked.has(key)) this.#startListening();
      else this.#asked.add(key);
      return (await load()).map((r) => r.record);
    }
    const kept = this.#lists.get(key);
    if (kept === undefined) return this.#readWhole(key, family, table, load);
    // Most recently used last, so the first key is the one to drop.
    this.#lists.delete(key);
    this.#lists.set(key, kept);
    if (kept.stale.size > MAX_PARTIAL_READS) return this.#readWhole(key, family, table, load);
    if (kept.stale.size > 0) {
      // One refresh of a list at a time: two overlapping ones could put older rows over newer.
      kept.refreshing ??= this.#readStale(kept, load as ListLoader<unknown>).finally(() => (kept.refreshing = undefined));
      await kept.refreshing;
      // The listener went meanwhile: notices may have been missed for a while before, so this answer comes from the database.
      if (this.#lists.get(key) !== kept) return (await load()).map((r) => r.record);
    }
    kept.merged = remerge(kept);
    kept.moved.clear();
    // A new list each time (a caller may sort it); the records are shared and never changed by readers, as the JSON store's.
    // A runbook that changed again while read is as fresh as a read from the database begun then, and stays stale for the next.
    return kept.merged.map((r) => r.record) as T[];
  }

  /** This process wrote `runbook`'s rows of `table`: its kept rows are stale now, before the notice comes. */
  changed(table: CachedTable, runbook: string): void {
    this.#changes++;
    for (const kept of this.#lists.values()) {
      if (kept.table !== table) continue;
      kept.stale.set(runbook, this.#changes);
    }
    for (const read of this.#reading) if (read.table === table) read.runbooks.add(runbook);
  }

  /** Rows of many runbooks went at once (the age pruning): every kept list is read afresh. */
  forgetAll(): void {
    this.#changes++;
    this.#lists.clear();
    for (const read of this.#reading) read.all = true;
  }

  #forgetTable(table: CachedTable): void {
    this.#changes++;
    for (const [key, kept] of this.#lists) if (kept.table === table) this.#lists.delete(key);
    for (const read of this.#reading) if (read.table === table) read.all = true;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#starting?.catch(() => undefined);
    this.#dropListener();
  }

  /**
   * Reads the whole list and keeps it. A change that overtakes the read (its
   * notice arrives while the read is under way; the read may or may not have
   * seen it) leaves that runbook's rows stale, read again on the next ask,
   * rather than the whole list unkept: under a steady stream of writes from
   * other hosts a list dropped for any change would never be kept, and every
   * poll would read it whole. A lost listener or an emptied table keeps nothing.
   */
  async #readWhole<T>(key: string, family: string, table: CachedTable, load: ListLoader<T>): Promise<T[]> {
    const read: WhileRead = { table, runbooks: new Set(), all: !this.live };
    this.#reading.add(read);
    let rows: ListedRow<T>[];
    try {
      rows = await load();
    } finally {
      this.#reading.delete(read);
    }
    if (this.live && !read.all) {
      const byRunbook = groupByRunbook<ListedRow<unknown>>(rows);
      const stale = new Map([...read.runbooks].map((runbook) => [runbook, this.#changes] as const));
      for (const [other, list] of this.#lists) if (list.family === family) this.#lists.delete(other);
      this.#lists.set(key, { table, family, byRunbook, stale, merged: rows, moved: new Set() });
      while (this.#lists.size > MAX_LISTS) this.#lists.delete(this.#lists.keys().next().value!);
    }
    return rows.map((r) => r.record);
  }

  async #readStale(kept: KeptList, load: ListLoader<unknown>): Promise<void> {
    const reads = [...kept.stale].map(async ([runbook, since]) => {
      const rows = await load(runbook);
      if (rows.length > 0) kept.byRunbook.set(runbook, rows);
      else kept.byRunbook.delete(runbook);
      kept.moved.add(runbook);
      // A change of this runbook after the read began leaves it stale.
      if (kept.stale.get(runbook) === since) kept.stale.delete(runbook);
    });
    await Promise.all(reads);
  }

  #startListening(): void {
    if (this.#starting || this.#closed || Date.now() - this.#failedAt < RELISTEN_AFTER_MS) return;
    this.#starting = (async () => {
      let client: PoolClient | undefined;
      try {
        client = await this.#pool.connect();
        const listener = client;
        listener.on('notification', (n) => {
          if (n.channel !== CHANGE_CHANNEL || n.payload === undefined) return;
          const space = n.payload.indexOf(' ');
          const table = n.payload.slice(0, space);
          if (table !== 'runs' && table !== 'drills' && table !== 'alerts') return;
          const runbook = n.payload.slice(space + 1);
          if (runbook === '*') this.#forgetTable(table);
          else this.changed(table, runbook);
        });
        listener.on('error', () => this.#lost(listener));
        listener.on('end', () => this.#lost(listener));
        await listener.query(`LISTEN ${CHANGE_CHANNEL}`);
        if (this.#closed) throw new Error('closed');
        this.#listener = listener;
      } catch {
        this.#failedAt = Date.now();
        client?.release(true);
      } finally {
        this.#starting = undefined;
      }
    })();
  }

  /** The listener is gone: nothing kept can be trusted any more. */
  #lost(client: PoolClient): void {
    if (this.#listener !== client) return;
    this.#failedAt = Date.now();
    this.#dropListener();
  }

  #dropListener(): void {
    const client = this.#listener;
    this.#listener = undefined;
    this.#changes++;
    this.#lists.clear();
    for (const read of this.#reading) read.all = true;
    this.#asked.clear();
    if (client) {
      client.removeAllListeners('notification');
      // Destroyed, not returned: a connection that still LISTENs must not serve other queries.
      client.release(true);
    }
  }
}

/** More moved rows than this: sorting everything again beats placing each. */
const MAX_PLACED_ROWS = 200;

/**
 * Every runbook's rows in one list, newest first by (at, written): the store's
 * own order. A scrape usually follows one runbook's change, so the last merge is
 * kept and only the moved runbooks' rows are taken out and placed again (a
 * binary search each) instead of sorting thousands of rows per read.
 */
function remerge(kept: KeptList): ListedRow<unknown>[] {
  const { merged, moved, byRunbook } = kept;
  if (merged !== undefined && moved.size === 0) return merged;
  const placed = [...moved].flatMap((runbook) => byRunbook.get(runbook) ?? []);
  if (merged === undefined || placed.length > MAX_PLACED_ROWS) {
    return [...byRunbook.values()].flat().sort(newestFirst);
  }
  const rows = merged.filter((r) => !moved.has(r.runbook));
  for (const row of placed) rows.splice(insertionPoint(rows, row), 0, row);
  return rows;
}

/** The store's order of a list: newest first by (at, written). */
export function newestFirst(a: ListedRow<unknown>, b: ListedRow<unknown>): number {
  return compareTime(b.at, a.at) || compareSerial(b.written, a.written);
}

/** Where `row` goes in `rows` (sorted newestFirst): after every row that sorts before it or equal. */
function insertionPoint(rows: readonly ListedRow<unknown>[], row: ListedRow<unknown>): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (newestFirst(rows[mid]!, row) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Epoch seconds, infinities included (their difference would be NaN). */
function compareTime(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** bigserial values as pg returns them (decimal strings), compared as numbers. */
function compareSerial(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
