/**
 * A Store in memory, for tests (the engine's and the faces'). It applies the
 * same limits and ordering as the JSON store, and copies records through JSON
 * on the way in and out, so a test cannot pass here by sharing objects (or by
 * storing what JSON would drop) and then fail against the file.
 */
import { LifeboatError } from '../errors.js';
import type { AlertRecord, AuditRecord, DeliveryRecord, DrillRecord, RunRecord } from './records.js';
import { emptyState, type StateFile } from './state-file.js';
import * as ops from './state-ops.js';
import type { AuditListOptions, ClaimedDelivery, ClaimOptions, DeliveryListOptions, DeliveryResult, DrillListOptions, PutAlertOptions, RunListOptions, Store, StoreLimits } from './store.js';

export interface MemoryStoreOptions {
  limits?: Partial<StoreLimits>;
}

export class MemoryStore implements Store {
  readonly limits: StoreLimits;
  #state: StateFile = emptyState();
  #closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.limits = ops.resolveLimits(options.limits);
  }

  async putRun(run: RunRecord): Promise<void> {
    this.#write((s) => ops.putRun(s, copy(run), this.limits));
  }
  async getRun(id: string): Promise<RunRecord | undefined> {
    return this.#read((s) => ops.getRun(s, id));
  }
  async listRuns(options?: RunListOptions): Promise<RunRecord[]> {
    return this.#read((s) => ops.listRuns(s, options));
  }

  async putDrill(drill: DrillRecord): Promise<void> {
    this.#write((s) => ops.putDrill(s, copy(drill), this.limits));
  }
  async listDrills(options?: DrillListOptions): Promise<DrillRecord[]> {
    return this.#read((s) => ops.listDrills(s, options));
  }

  async putAlert(alert: AlertRecord, deliveries: readonly DeliveryRecord[] = [], options: PutAlertOptions = {}): Promise<boolean> {
    return this.#write((s) => ops.putAlert(s, copy(alert), copy(deliveries), this.limits, copy(options)));
  }
  async getAlert(key: string): Promise<AlertRecord | undefined> {
    return this.#read((s) => ops.getAlert(s, key));
  }
  async listAlerts(options?: ops.AlertListOptions): Promise<AlertRecord[]> {
    return this.#read((s) => ops.listAlerts(s, options));
  }

  async claimDeliveries(options: ClaimOptions): Promise<ClaimedDelivery[]> {
    return copy(this.#write((s) => ops.claimDeliveries(s, options)));
  }
  async finishDelivery(id: string, owner: string, result: DeliveryResult): Promise<boolean> {
    return this.#write((s) => ops.finishDelivery(s, id, owner, result, this.limits));
  }
  async listDeliveries(options?: DeliveryListOptions): Promise<DeliveryRecord[]> {
    return this.#read((s) => ops.listDeliveries(s, options));
  }

  async appendAudit(entry: AuditRecord): Promise<void> {
    this.#write((s) => ops.appendAudit(s, copy(entry), this.limits));
  }
  async listAudit(options?: AuditListOptions): Promise<AuditRecord[]> {
    return this.#read((s) => ops.listAudit(s, options));
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #write<T>(mutate: (state: StateFile) => T): T {
    this.#assertOpen();
    return mutate(this.#state);
  }

  #read<T>(query: (state: StateFile) => T): T {
    this.#assertOpen();
    return copy(query(this.#state));
  }

  #assertOpen(): void {
    if (this.#closed) throw new LifeboatError('INTERNAL', 'The in-memory store is closed');
  }
}

function copy<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}
