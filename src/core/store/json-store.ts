/**
 * The Store as one JSON file in the state folder, through lowdb (the only module
 * that imports it).
 *
 * lowdb alone is safe for readers but not for a second writer process, and does
 * not fsync. So every write is: take the cross-process lock, re-read the file
 * (another process may have written since), apply the change, write it durably,
 * release. Reads re-read the file without the lock: writes replace it by rename,
 * so a reader sees a whole version, and at a few hundred KiB a read is cheap.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Low, type Adapter } from 'lowdb';
import { LifeboatError } from '../errors.js';
import { isErrno, readTextIfExists, removeStaleTempFiles, replaceFileDurably } from './durable-file.js';
import { defaultLockSettings, withFileLock, type LockSettings } from './file-lock.js';
import type { AlertRecord, AuditRecord, DeliveryRecord, DrillRecord, RunRecord } from './records.js';
import { emptyState, formatState, parseState, type StateFile } from './state-file.js';
import { stateIoError } from './state-io-error.js';
import * as ops from './state-ops.js';
import type { AuditListOptions, ClaimedDelivery, ClaimOptions, DeliveryListOptions, DeliveryResult, DrillListOptions, PutAlertOptions, RunListOptions, Store, StoreLimits } from './store.js';

export const defaultStateFileName = 'state.json';

export interface JsonStoreOptions {
  limits?: Partial<StoreLimits>;
  fileName?: string;
  /** Lock timing; the defaults suit operators, tests shorten them. */
  lock?: Partial<LockSettings>;
}

export interface JsonStore extends Store {
  /** Absolute path of the state file, for messages and `status`. */
  readonly path: string;
  readonly limits: StoreLimits;
}

export function stateFilePath(home: string, fileName = defaultStateFileName): string {
  return join(resolve(home), fileName);
}

/**
 * Opens the store in `home` without creating anything: a missing folder or file
 * reads as an empty history, and the first write creates both. So a read-only
 * command run from the wrong folder (`status`, `history`) leaves no `.lifeboat`
 * behind, and can say where it looked (src/core/status/state-presence.ts).
 * A damaged file fails the open with STORE_CORRUPT and is left byte for byte
 * as it was; see recoverCorruptStore.
 */
export async function openJsonStore(home: string, options: JsonStoreOptions = {}): Promise<JsonStore> {
  const limits = ops.resolveLimits(options.limits);
  const lock = { ...defaultLockSettings, ...options.lock };
  const path = stateFilePath(home, options.fileName);
  const file = new DurableStateFile(path);
  // Read without the lock, so a damaged file is reported even while the lock is busy.
  await file.readFresh();
  return new LowJsonStore(path, file, limits, lock);
}

/**
 * lowdb's adapter contract, with validation on read and fsync on write.
 *
 * Parsing is most of a write's cost, and a process that writes several times in
 * a row would parse back its own output each time; so `read` reuses the state it
 * last wrote when the file still holds exactly those bytes. Only the write path,
 * under the lock, uses it: queries take `readFresh`, since they hand records out.
 */
class DurableStateFile implements Adapter<StateFile> {
  #written: { text: string; state: StateFile } | undefined;

  constructor(readonly path: string) {}

  async read(): Promise<StateFile | null> {
    const text = await this.#readText();
    if (text === undefined) return null;
    if (this.#written?.text === text) return this.#written.state;
    this.#written = undefined;
    return parseState(text, this.path);
  }

  async readFresh(): Promise<StateFile | null> {
    const text = await this.#readText();
    return text === undefined ? null : parseState(text, this.path);
  }

  async write(data: StateFile): Promise<void> {
    this.#written = undefined;
    const text = formatState(data);
    await replaceFileDurably(this.path, text);
    this.#written = { text, state: data };
  }

  /** Missing (the file, or the folder: nothing written yet) reads as undefined. */
  async #readText(): Promise<string | undefined> {
    try {
      return await readTextIfExists(this.path);
    } catch (e) {
      if (isErrno(e, 'ENOTDIR')) return undefined; // a path below a file holds nothing either; the write says why it cannot
      throw stateIoError(e, this.path, 'read');
    }
  }

  /** After a failed write the kept state may hold a change the file does not. */
  forget(): void {
    this.#written = undefined;
  }
}

class LowJsonStore implements JsonStore {
  readonly #file: DurableStateFile;
  readonly #db: Low<StateFile>;
  readonly #lock: LockSettings;
  /** Writes from this process go one at a time, so they queue here rather than poll the lock. */
  #queue: Promise<unknown> = Promise.resolve();
  /** Whether this store made sure of its folder: once, at its first write. */
  #prepared = false;
  /** Temp files a killed writer left are swept under the lock of this store's first write. */
  #swept = false;
  /** The read of the file in flight, and how many queries wait on it. */
  #reading: { state: Promise<StateFile | null>; users: number } | undefined;
  #closed = false;

  constructor(
    readonly path: string,
    file: DurableStateFile,
    readonly limits: StoreLimits,
    lock: LockSettings,
  ) {
    this.#file = file;
    this.#lock = lock;
    this.#db = new Low(file, emptyState());
  }

  putRun(run: RunRecord): Promise<void> {
    const record = plainCopy(run);
    return this.#update((s) => ops.putRun(s, record, this.limits), recordingRun(record));
  }
  getRun(id: string): Promise<RunRecord | undefined> {
    return this.#query((s) => ops.getRun(s, id));
  }
  listRuns(options?: RunListOptions): Promise<RunRecord[]> {
    return this.#query((s) => ops.listRuns(s, options));
  }

  putDrill(drill: DrillRecord): Promise<void> {
    const record = plainCopy(drill);
    return this.#update((s) => ops.putDrill(s, record, this.limits), `record the drill ${record.id} of ${record.runbook} (${record.verdict})`);
  }
  listDrills(options?: DrillListOptions): Promise<DrillRecord[]> {
    return this.#query((s) => ops.listDrills(s, options));
  }

  putAlert(alert: AlertRecord, deliveries: readonly DeliveryRecord[] = [], options: PutAlertOptions = {}): Promise<boolean> {
    const record = plainCopy(alert);
    const owed = plainCopy(deliveries);
    const condition = plainCopy(options);
    return this.#change((s) => ops.putAlert(s, record, owed, this.limits, condition), (written) => written);
  }
  getAlert(key: string): Promise<AlertRecord | undefined> {
    return this.#query((s) => ops.getAlert(s, key));
  }
  listAlerts(options?: ops.AlertListOptions): Promise<AlertRecord[]> {
    return this.#query((s) => ops.listAlerts(s, options));
  }

  async claimDeliveries(options: ClaimOptions): Promise<ClaimedDelivery[]> {
    // serve asks every second: look without the lock first, so an idle outbox costs a read, not a locked fsync'd write.
    if (!(await this.#query((s) => ops.hasDueDeliveries(s, options)))) return [];
    return this.#change((s) => ops.claimDeliveries(s, options), (claimed) => claimed.length > 0);
  }
  finishDelivery(id: string, owner: string, result: DeliveryResult): Promise<boolean> {
    return this.#change((s) => ops.finishDelivery(s, id, owner, result, this.limits), (recorded) => recorded);
  }
  listDeliveries(options?: DeliveryListOptions): Promise<DeliveryRecord[]> {
    return this.#query((s) => ops.listDeliveries(s, options));
  }

  appendAudit(entry: AuditRecord): Promise<void> {
    const record = plainCopy(entry);
    return this.#update((s) => ops.appendAudit(s, record, this.limits));
  }
  listAudit(options?: AuditListOptions): Promise<AuditRecord[]> {
    return this.#query((s) => ops.listAudit(s, options));
  }

  /** Waits for queued writes; the lock is only held during a write, so nothing else is open. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
  }

  async #update(mutate: (state: StateFile) => void, purpose?: string): Promise<void> {
    await this.#change(mutate, () => true, purpose);
  }

  /**
   * Read-modify-write under the lock; the file is written only when `changed` says the mutation changed something.
   * `purpose` says in a failure's message what was not saved ("record the backup run … of app-data").
   */
  async #change<T>(mutate: (state: StateFile) => T, changed: (value: T) => boolean, purpose?: string): Promise<T> {
    this.#assertOpen();
    const write = this.#queue.then(async () => {
      await this.#prepare(purpose);
      return withFileLock(this.path, this.#lock, async () => {
        // If the file was deleted under us, start from empty rather than resurrect our last view of it.
        this.#db.data = emptyState();
        try {
          if (!this.#swept) {
            await removeStaleTempFiles(this.path);
            this.#swept = true;
          }
          await this.#db.read();
          const value = mutate(this.#db.data);
          if (changed(value)) await this.#db.write();
          else this.#file.forget(); // the kept state may hold a change the file does not
          return value;
        } catch (e) {
          this.#file.forget();
          throw e;
        }
      }).catch((e: unknown) => {
        throw stateIoError(e, this.path, 'write', purpose);
      });
    });
    this.#queue = write.catch(() => undefined);
    return write;
  }

  /** The first write creates the folder; readers never do. */
  async #prepare(purpose: string | undefined): Promise<void> {
    if (this.#prepared) return;
    try {
      // The audit log says who did what; keep it to the operator's account.
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    } catch (e) {
      throw stateIoError(e, this.path, 'write', purpose);
    }
    this.#prepared = true;
  }

  async #query<T>(query: (state: StateFile) => T): Promise<T> {
    this.#assertOpen();
    // Queries that start while another is reading share its parse: status asks for four lists at once,
    // a /metrics scrape for six, and at the store's limits the file is over 100 MB. A query that shared
    // the parse returns copies, so no caller sees another's changes to the records it got.
    const read = this.#reading ?? (this.#reading = { state: this.#file.readFresh().finally(() => (this.#reading = undefined)), users: 0 });
    read.users += 1;
    const result = query((await read.state) ?? emptyState());
    return read.users > 1 ? structuredClone(result) : result;
  }

  #assertOpen(): void {
    if (this.#closed) throw new LifeboatError('INTERNAL', `The state store ${this.path} is closed`);
  }
}

/** What a failed write of this run did not save: which run, at which point, and how it ended (a failure's reason would otherwise be lost with it). */
function recordingRun(run: RunRecord): string {
  const which = `the ${run.kind} run ${run.id} of ${run.runbook}`;
  if (run.status !== 'running') return `record the end of ${which} (${run.error ? `${run.status}: ${run.error.message}` : run.status})`;
  return run.stages.length === 0 ? `record the start of ${which}` : `record the progress of ${which}`;
}

/**
 * Taken when put is called, not when its queued write runs. The kept state outlives
 * a write, so it must not share objects with callers, and must equal what parsing
 * the file gives back (no `undefined`, no Date objects).
 */
function plainCopy<T>(record: T): T {
  return JSON.parse(JSON.stringify(record)) as T;
}
