import { setTimeout as sleepMs } from 'node:timers/promises';
import { LifeboatError } from '../errors.js';
import type { Backend, FileKind, Handle, ObjectInfo, SaveOptions } from './backend.js';

export type BackendOperation = 'save' | 'load' | 'stat' | 'list' | 'remove' | 'create' | 'exists' | 'close';

export type FaultAction =
  /** The call rejects with `error` (default: a retryable BACKEND_UNAVAILABLE), without reaching the inner backend. */
  | { type: 'fail'; error?: Error }
  /** A save stores only the first `bytes` bytes and still resolves: a store that lies. */
  | { type: 'truncate'; bytes: number }
  /** The call waits `ms` before it proceeds. */
  | { type: 'delay'; ms: number }
  /** The call waits until `until` settles before it proceeds (a gate a test opens). */
  | { type: 'wait'; until: Promise<unknown> };

export interface Fault {
  op: BackendOperation;
  /** Only calls on this kind count (calls without a handle, like `create`, never match a kind). */
  kind?: FileKind;
  /** Matching calls let through untouched before the fault starts (0: the first matching call). */
  skip?: number;
  /** How many matching calls the fault affects after the skipped ones (default: all of them). */
  times?: number;
  action: FaultAction;
}

interface ArmedFault extends Fault {
  seen: number;
}

/**
 * Wraps a backend and injects faults into chosen calls, for tests of retries,
 * interrupted uploads and verification (after kopia's blobtesting faulty
 * storage). Every fault counts the calls it matches; when several apply to a
 * call, the one added first acts. `calls` counts every call by operation.
 */
export class FaultyBackend implements Backend {
  readonly calls: Record<BackendOperation, number> = {
    save: 0,
    load: 0,
    stat: 0,
    list: 0,
    remove: 0,
    create: 0,
    exists: 0,
    close: 0,
  };
  private readonly faults: ArmedFault[] = [];

  constructor(
    readonly inner: Backend,
    faults: Fault[] = [],
  ) {
    for (const fault of faults) this.addFault(fault);
  }

  get location(): string {
    return this.inner.location;
  }

  addFault(fault: Fault): this {
    this.faults.push({ ...fault, seen: 0 });
    return this;
  }

  /** The `n`th call (1-based) of `op` fails. */
  failNth(op: BackendOperation, n: number, error?: Error): this {
    return this.addFault({ op, skip: n - 1, times: 1, action: { type: 'fail', error } });
  }

  /** Every save of `kind` fails (or the next `times` of them). */
  failSaves(kind: FileKind, times?: number, error?: Error): this {
    return this.addFault({ op: 'save', kind, times, action: { type: 'fail', error } });
  }

  /** Saves of `kind` keep only their first `bytes` bytes (or the next `times` of them). */
  truncateSaves(kind: FileKind, bytes: number, times?: number): this {
    return this.addFault({ op: 'save', kind, times, action: { type: 'truncate', bytes } });
  }

  /** Every call of `op` waits `ms` first. */
  delay(op: BackendOperation, ms: number): this {
    return this.addFault({ op, action: { type: 'delay', ms } });
  }

  /** Removes every fault; counters stay. */
  heal(): this {
    this.faults.length = 0;
    return this;
  }

  async save(handle: Handle, data: Uint8Array, options?: SaveOptions): Promise<void> {
    const action = await this.enter('save', handle);
    const stored = action?.type === 'truncate' ? data.subarray(0, Math.max(0, action.bytes)) : data;
    await this.inner.save(handle, stored, options);
  }

  async load(handle: Handle, range?: { offset: number; length: number }): Promise<Buffer> {
    await this.enter('load', handle);
    return await this.inner.load(handle, range);
  }

  async stat(handle: Handle): Promise<ObjectInfo> {
    await this.enter('stat', handle);
    return await this.inner.stat(handle);
  }

  async *list(kind: FileKind): AsyncGenerator<ObjectInfo> {
    await this.enter('list', { kind, name: '' });
    yield* this.inner.list(kind);
  }

  async remove(handle: Handle): Promise<void> {
    await this.enter('remove', handle);
    await this.inner.remove(handle);
  }

  async create(): Promise<void> {
    await this.enter('create', undefined);
    await this.inner.create();
  }

  async exists(): Promise<boolean> {
    await this.enter('exists', undefined);
    return await this.inner.exists();
  }

  async close(): Promise<void> {
    await this.enter('close', undefined);
    await this.inner.close();
  }

  /** Counts the call, applies the first fault that matches, and returns a truncate action for `save`. */
  private async enter(
    op: BackendOperation,
    handle: Handle | undefined,
  ): Promise<Extract<FaultAction, { type: 'truncate' }> | undefined> {
    this.calls[op] += 1;
    const fault = this.match(op, handle);
    if (fault === undefined) return undefined;
    const { action } = fault;
    switch (action.type) {
      case 'fail':
        throw action.error ?? injected(op, handle, this.inner.location);
      case 'delay':
        await sleepMs(action.ms);
        return undefined;
      case 'wait':
        await action.until.catch(() => undefined);
        return undefined;
      case 'truncate':
        return op === 'save' ? action : undefined;
    }
  }

  /** Every fault that matches counts the call, so "the Nth call" never depends on the other faults. */
  private match(op: BackendOperation, handle: Handle | undefined): ArmedFault | undefined {
    let acting: ArmedFault | undefined;
    for (const fault of this.faults) {
      if (fault.op !== op) continue;
      if (fault.kind !== undefined && fault.kind !== handle?.kind) continue;
      fault.seen += 1;
      const index = fault.seen - 1 - (fault.skip ?? 0);
      if (index < 0 || (fault.times !== undefined && index >= fault.times)) continue;
      acting ??= fault;
    }
    return acting;
  }
}

function injected(op: BackendOperation, handle: Handle | undefined, location: string): LifeboatError {
  const what = handle === undefined ? location : `${location} ${handle.kind}/${handle.name}`;
  return new LifeboatError('BACKEND_UNAVAILABLE', `injected fault: ${op} ${what}`, {
    retryable: true,
    details: { injected: true },
  });
}
