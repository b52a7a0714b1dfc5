/**
 * A Store that keeps a backup's records when the state store goes away
 * (issue 18: "a backup or drill already running never fails because the store
 * went away"). It wraps the PostgreSQL store only: the JSON store is a local
 * file, and an outage of the local disk is not something a spool on the same
 * disk could ride out.
 *
 * Writes, by kind:
 * - putRun, putDrill, appendAudit: written to the store; when it is
 *   unreachable (unreachable.ts), appended to the spool (spool.ts) instead and
 *   reported as done. They are upserts by id, so a replay is idempotent.
 * - putAlert is never spooled: its `ifStored` compare-and-set needs the store's
 *   answer now, and an alert is derived from the records: the rules run again
 *   (serve's timer, the next run) once the store is back. It throws the
 *   unreachable error, which the alert evaluation after a run turns into one
 *   warning (use-cases/recorded-run.ts).
 * - claimDeliveries, finishDelivery: the outbox is the store's; they throw.
 *
 * Order: once this home's spool holds anything, every later spoolable write of
 * any process on this home goes behind it until it has been replayed; within
 * a process those writes are made one at a time (`#serial`), so a run's
 * stage records reach the store in the order they were made.
 *
 * Replay: every call first checks the spool; when it holds entries and the
 * store answers, they are applied oldest first under the spool's replay lock
 * (one replayer per home; the others spool behind it), each removed once
 * committed. While the store is down, reconnecting is tried at most once per
 * `retry` interval (doubling up to its max): in between, writes go straight to
 * the spool and reads fail at once, so neither a backup nor serve's one-second
 * outbox loop waits on connection timeouts.
 *
 * Reads while the store is down throw storeUnreachableError: the store as
 * host:port/database (never the URL, which holds the password) and the spool's path.
 */
import { LifeboatError } from '../../errors.js';
import type { LockSettings } from '../file-lock.js';
import type { AlertRecord, AuditRecord, DeliveryRecord, DrillRecord, RunRecord } from '../records.js';
import type { ClaimedDelivery, Store } from '../store.js';
import { Spool, type SpoolEntry, type SpoolOp } from './spool.js';
import { isStoreUnreachable, storeUnreachableError, unreachableReason } from './unreachable.js';

export interface SpoolingStoreOptions {
  /**
   * Opens the store (connects, checks the schema). Called at first use and
   * again after it failed as unreachable; a real error (refused password,
   * outdated schema) is thrown to the caller as it is.
   */
  open: () => Promise<Store>;
  /** The store opened already (openConfiguredStore tries once at start). */
  opened?: Store;
  /** Or why that first open found it unreachable: the store starts down, and the next attempt waits for `retry`. */
  down?: unknown;
  /** `host:port/database`, for messages. */
  where: string;
  /** The spool folder (`<home>/spool`, spool.ts spoolDirOf). */
  spoolDir: string;
  /** How soon reconnecting is tried again after the store did not answer (doubles up to maxMs). */
  retry?: { firstMs: number; maxMs: number };
  /** Told once per outage when records start being spooled, once when they were replayed, and of any entry the store refused. */
  onWarning?: (message: string) => void;
  /** Monotonic milliseconds for the retry pacing (tests shift it). */
  monotonicMs?: () => number;
  /** Wall time for the spool entries. */
  now?: () => Date;
  /** The replay lock's staleness (spool.ts; tests shorten it). */
  replayLock?: LockSettings;
}

const defaultRetry = { firstMs: 1_000, maxMs: 10_000 };

/** Errors thrown without trying the store (a retry not yet due): they must not push the next retry further away. */
const paced = new WeakSet<object>();

export interface ReplayResult {
  replayed: number;
  rejected: number;
  /** Another process holds the replay lock: it replays (or its lock lapses). */
  busy: boolean;
}

export class SpoolingStore implements Store {
  readonly spool: Spool;
  readonly where: string;
  #inner: Store | undefined;
  #opening: Promise<Store> | undefined;
  readonly #open: () => Promise<Store>;
  readonly #retry: { firstMs: number; maxMs: number };
  readonly #warn: (message: string) => void;
  readonly #monotonic: () => number;
  readonly #now: () => Date;
  /** Set while the store is believed down: the last failure, and when to try again. */
  #down: { cause: unknown; retryAt: number; delayMs: number; told: boolean } | undefined;
  #serial: Promise<unknown> = Promise.resolve();
  #replaying: Promise<ReplayResult> | undefined;
  #closed = false;

  constructor(options: SpoolingStoreOptions) {
    this.spool = new Spool(options.spoolDir, options.replayLock);
    this.where = options.where;
    this.#open = options.open;
    this.#inner = options.opened;
    this.#retry = options.retry ?? defaultRetry;
    this.#warn = options.onWarning ?? (() => undefined);
    this.#monotonic = options.monotonicMs ?? (() => performance.now());
    this.#now = options.now ?? (() => new Date());
    if (options.opened === undefined && options.down !== undefined) this.#failed(options.down);
  }

  /** Whether the last attempt found the store unreachable (until one succeeds). */
  get isDown(): boolean {
    return this.#down !== undefined;
  }

  putRun(run: RunRecord): Promise<void> {
    return this.#spoolable({ op: 'putRun', record: run });
  }
  putDrill(drill: DrillRecord): Promise<void> {
    return this.#spoolable({ op: 'putDrill', record: drill });
  }
  appendAudit(entry: AuditRecord): Promise<void> {
    return this.#spoolable({ op: 'appendAudit', record: entry });
  }

  // Options are typed as the port's own (Parameters<Store[…]>) and passed on whole: filters the port grows reach the store.
  getRun(id: string): Promise<RunRecord | undefined> {
    return this.#call((s) => s.getRun(id));
  }
  listRuns(options?: Parameters<Store['listRuns']>[0]): Promise<RunRecord[]> {
    return this.#call((s) => s.listRuns(options));
  }
  listDrills(options?: Parameters<Store['listDrills']>[0]): Promise<DrillRecord[]> {
    return this.#call((s) => s.listDrills(options));
  }
  putAlert(alert: AlertRecord, deliveries?: readonly DeliveryRecord[], options?: Parameters<Store['putAlert']>[2]): Promise<boolean> {
    return this.#call((s) => s.putAlert(alert, deliveries, options));
  }
  getAlert(key: string): Promise<AlertRecord | undefined> {
    return this.#call((s) => s.getAlert(key));
  }
  listAlerts(options?: Parameters<Store['listAlerts']>[0]): Promise<AlertRecord[]> {
    return this.#call((s) => s.listAlerts(options));
  }
  claimDeliveries(options: Parameters<Store['claimDeliveries']>[0]): Promise<ClaimedDelivery[]> {
    return this.#call((s) => s.claimDeliveries(options));
  }
  finishDelivery(id: string, owner: string, result: Parameters<Store['finishDelivery']>[2]): Promise<boolean> {
    return this.#call((s) => s.finishDelivery(id, owner, result));
  }
  listDeliveries(options?: Parameters<Store['listDeliveries']>[0]): Promise<DeliveryRecord[]> {
    return this.#call((s) => s.listDeliveries(options));
  }
  listAudit(options?: Parameters<Store['listAudit']>[0]): Promise<AuditRecord[]> {
    return this.#call((s) => s.listAudit(options));
  }

  /**
   * Replays the spool now if the store answers (what every call does first);
   * throws the unreachable error when it does not. For `lifeboat store` and tests.
   */
  async replay(): Promise<ReplayResult> {
    return this.#catchUp(await this.#store());
  }

  /**
   * Waits for the writes in flight; when the store is up and this process
   * spooled something, one last replay (so a command that spooled and then saw
   * the store return leaves nothing behind). Then closes the store.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#serial.catch(() => undefined);
    if (this.#inner !== undefined && this.#down === undefined && !(await this.spool.isEmpty().catch(() => true))) {
      await this.#catchUp(this.#inner).catch(() => undefined);
    }
    this.#closed = true;
    await this.#replaying?.catch(() => undefined);
    await this.#inner?.close();
  }

  #spoolable(given: SpoolOp): Promise<void> {
    // Taken as it is now: the write may wait its turn behind others, and callers go on changing their record objects.
    const op = JSON.parse(JSON.stringify(given)) as SpoolOp;
    const write = this.#serial.then(async () => {
      if (this.#closed) throw new LifeboatError('INTERNAL', `The state store at ${this.where} is closed`);
      try {
        const store = await this.#store();
        const caughtUp = await this.#catchUp(store);
        if (caughtUp.busy || !(await this.spool.isEmpty())) {
          // Another process is replaying (or a write landed behind its replay): this one goes behind them.
          await this.spool.append(op, this.where, this.#now());
          return;
        }
        await apply(store, op);
        this.#up();
      } catch (e) {
        if (!isStoreUnreachable(e)) throw e;
        this.#failed(e);
        await this.spool.append(op, this.where, this.#now());
        this.#tellSpooling();
      }
    });
    this.#serial = write.catch(() => undefined);
    return write;
  }

  async #call<T>(body: (store: Store) => Promise<T>): Promise<T> {
    if (this.#closed) throw new LifeboatError('INTERNAL', `The state store at ${this.where} is closed`);
    try {
      const store = await this.#store();
      await this.#catchUp(store);
      const value = await body(store);
      this.#up();
      return value;
    } catch (e) {
      if (!isStoreUnreachable(e)) throw e;
      this.#failed(e);
      if (typeof e === 'object' && e !== null && paced.has(e)) throw e;
      throw storeUnreachableError(this.where, this.spool.dir, e);
    }
  }

  /** The open store; throws (an unreachable error, fast) while a retry is not due. */
  async #store(): Promise<Store> {
    const down = this.#down;
    if (down !== undefined && this.#monotonic() < down.retryAt) {
      const e = storeUnreachableError(this.where, this.spool.dir, down.cause);
      paced.add(e);
      throw e;
    }
    if (this.#inner !== undefined) return this.#inner;
    this.#opening ??= this.#open().finally(() => (this.#opening = undefined));
    const store = await this.#opening;
    this.#inner ??= store;
    if (this.#inner !== store) await store.close().catch(() => undefined);
    return this.#inner;
  }

  /** Applies the spool to `store` unless empty; one replay per process at a time, one per home across processes. */
  #catchUp(store: Store): Promise<ReplayResult> {
    this.#replaying ??= this.#replayAll(store).finally(() => (this.#replaying = undefined));
    return this.#replaying;
  }

  async #replayAll(store: Store): Promise<ReplayResult> {
    const result: ReplayResult = { replayed: 0, rejected: 0, busy: false };
    if (await this.spool.isEmpty()) return result;
    const locked = await this.spool.withReplayLock(async () => {
      await this.spool.sweepTemps();
      // Entries appended meanwhile (by this process or another) are taken too: the lock is let go with the spool empty.
      for (let names = await this.spool.names(); names.length > 0; names = await this.spool.names()) {
        for (const name of names) {
          let entry: SpoolEntry | undefined;
          try {
            entry = await this.spool.read(name);
          } catch (e) {
            await this.#reject(name, `unreadable: ${(e as Error).message}`);
            result.rejected++;
            continue;
          }
          if (entry === undefined) continue;
          try {
            await apply(store, entry);
          } catch (e) {
            if (isStoreUnreachable(e)) throw e;
            await this.#reject(name, `refused by the store: ${(e as Error).message}`);
            result.rejected++;
            continue;
          }
          await this.spool.remove(name);
          result.replayed++;
        }
      }
      await this.spool.sync();
    });
    if (locked.busy) return { ...result, busy: true };
    if (result.replayed > 0) this.#warn(`state store ${this.where} reachable again: ${result.replayed} spooled record(s) written to it from ${this.spool.dir}`);
    return result;
  }

  async #reject(name: string, why: string): Promise<void> {
    const path = await this.spool.reject(name, why);
    this.#warn(`spooled record ${path} not written to the state store ${this.where}: ${why}; kept there for inspection`);
  }

  #failed(cause: unknown): void {
    if (typeof cause === 'object' && cause !== null && paced.has(cause)) return;
    const delayMs = this.#down === undefined ? this.#retry.firstMs : Math.min(this.#down.delayMs * 2, this.#retry.maxMs);
    this.#down = { cause, retryAt: this.#monotonic() + delayMs, delayMs, told: this.#down?.told ?? false };
  }

  #up(): void {
    this.#down = undefined;
  }

  #tellSpooling(): void {
    const down = this.#down;
    if (down === undefined || down.told) return;
    down.told = true;
    this.#warn(
      `state store unreachable: ${this.where} (${unreachableReason(down.cause)}); records are spooled to ${this.spool.dir} and written to the store when it returns`,
    );
  }
}

/** A spooled (or about to be spooled) write, made on the store. */
function apply(store: Store, op: SpoolOp): Promise<void> {
  switch (op.op) {
    case 'putRun':
      return store.putRun(op.record);
    case 'putDrill':
      return store.putDrill(op.record);
    case 'appendAudit':
      return store.appendAudit(op.record);
  }
}
