/**
 * A repository in an S3 bucket with Object Lock, read and written as if the
 * bucket were hostile: whoever holds the backup credential may have put a
 * delete marker on every key or written garbage over any object. Neither
 * destroys a retained version, so this wrapper (directly over the S3 adapter,
 * under retry and staging) makes every read use a version that is provably
 * ours and every delete honest about what retention still holds:
 *
 * - `load` and `list` go by versions (ListObjectVersions). An object whose
 *   current version is its only version is read as is (at that version, so a
 *   later overwrite does not change what this process reads). Otherwise (a
 *   delete marker on top, or more than one version of a name that is written
 *   once) each version is tried newest first and the first whose SHA-256 is
 *   its name is used (config, which is not content-addressed: the newest real
 *   version; its MAC is checked when the repository opens). What was used
 *   instead of the current version is recorded in `recoveries` and announced
 *   through `onRecovery`.
 * - `remove` deletes every version of the object for good (DeleteObject with
 *   VersionId), never with a delete marker, which would hide an object that
 *   still costs money and still exists. A version still retained is left and
 *   recorded in `waiting` with its retain-until date, for prune to report.
 * - Lock files are not retained (see lockedKinds) and pass straight through.
 */
import { createHash } from 'node:crypto';
import { LifeboatError, isLifeboatError } from '../errors.js';
import { objectPath, type Backend, type FileKind, type Handle, type ObjectInfo, type SaveOptions } from './backend.js';
import { contentAddressedKinds, lockedKinds, type LockRetention, type ObjectVersion } from './object-lock.js';

/** The calls of the S3 adapter this wrapper builds on (S3Backend has them). */
export interface VersionedStore extends Backend {
  listVersions(kind: FileKind, handle?: Handle): AsyncIterable<ObjectVersion>;
  loadVersion(handle: Handle, versionId: string | undefined, range?: { offset: number; length: number }): Promise<Buffer>;
  retentionOf(handle: Handle, versionId: string): Promise<LockRetention | undefined>;
  setRetention(handle: Handle, versionId: string, retention: LockRetention): Promise<void>;
  removeVersion(handle: Handle, versionId: string): Promise<void>;
  objectLockEnabled(): Promise<boolean>;
}

/** An object read from another version than its current one. */
export interface Recovery {
  kind: FileKind;
  name: string;
  /** `deleted`: a delete marker is on top; `damaged`: the current version's bytes do not match the name. */
  why: 'deleted' | 'damaged';
  versionId: string;
  /** When the version used was written. */
  written: Date;
}

/** An object `remove` could not delete yet: a version of it is retained until `until`. */
export interface Waiting {
  kind: FileKind;
  name: string;
  until?: Date;
}

export type ExtendOutcome = 'extended' | 'fine';

interface ChosenVersion {
  versionId: string;
  size: number;
  modified: Date;
  /** The bytes, when picking needed them (an unranged load then needs no second GET). */
  bytes?: Buffer;
}

export class ObjectLockBackend implements Backend {
  readonly location: string;
  readonly recoveries: Recovery[] = [];
  readonly waiting: Waiting[] = [];
  /** Told once per recovered object (check and restore print it). */
  onRecovery?: (message: string) => void;
  /** objectPath → the version this process reads. */
  private readonly picked = new Map<string, Promise<ChosenVersion>>();

  constructor(readonly store: VersionedStore) {
    this.location = store.location;
  }

  async save(handle: Handle, data: Uint8Array, options?: SaveOptions): Promise<void> {
    await this.store.save(handle, data, options);
    this.picked.delete(objectPath(handle));
  }

  async load(handle: Handle, range?: { offset: number; length: number }): Promise<Buffer> {
    if (!lockedKinds.has(handle.kind)) return this.store.load(handle, range);
    const pick = await this.pick(handle);
    const bytes = pick.bytes;
    if (range === undefined && bytes !== undefined) {
      pick.bytes = undefined; // handed over once: the caller owns (and may transfer) them
      return bytes;
    }
    return this.store.loadVersion(handle, pick.versionId, range);
  }

  async stat(handle: Handle): Promise<ObjectInfo> {
    if (!lockedKinds.has(handle.kind)) return this.store.stat(handle);
    const pick = await this.pick(handle);
    return { name: handle.name, size: pick.size, modified: pick.modified };
  }

  async *list(kind: FileKind): AsyncGenerator<ObjectInfo> {
    if (!lockedKinds.has(kind)) {
      yield* this.store.list(kind);
      return;
    }
    let group: ObjectVersion[] = [];
    const settle = async (): Promise<ObjectInfo | undefined> => {
      const versions = group;
      group = [];
      const first = versions[0];
      if (first === undefined || !versions.some((v) => !v.deleteMarker)) return undefined;
      const handle = { kind, name: first.name };
      const key = objectPath(handle);
      if (!this.picked.has(key)) this.picked.set(key, this.choose(handle, versions));
      const pick = await this.picked.get(key)!;
      return { name: first.name, size: pick.size, modified: pick.modified };
    };
    for await (const version of this.store.listVersions(kind)) {
      if (group.length > 0 && group[0]!.name !== version.name) {
        const info = await settle();
        if (info) yield info;
      }
      group.push(version);
    }
    const info = await settle();
    if (info) yield info;
  }

  /**
   * Deletes every version of the object that retention allows. Lock files get
   * a plain delete (a marker), which is all the backup-only policy allows them.
   */
  async remove(handle: Handle): Promise<void> {
    if (!lockedKinds.has(handle.kind)) return this.store.remove(handle);
    this.picked.delete(objectPath(handle));
    let until: Date | undefined;
    let held = false;
    for (const version of await this.versionsOf(handle)) {
      try {
        await this.store.removeVersion(handle, version.versionId);
      } catch (e) {
        if (!isLifeboatError(e, 'BACKEND_PERMISSION') || version.deleteMarker) throw e;
        const retention = await this.store.retentionOf(handle, version.versionId);
        // A retention already over cannot be why: the credentials lack the permission.
        if (retention === undefined || retention.until.getTime() <= Date.now()) {
          throw new LifeboatError(
            'BACKEND_PERMISSION',
            `remove ${this.location}/${objectPath(handle)}: the store refused to delete version ${version.versionId}, which no retention holds any more: these credentials lack s3:DeleteObjectVersion (prune needs it; docs/object-lock.md)`,
            { cause: e, details: { op: 'remove', kind: handle.kind, name: handle.name } },
          );
        }
        held = true;
        if (until === undefined || retention.until > until) until = retention.until;
      }
    }
    if (held) this.waiting.push({ kind: handle.kind, name: handle.name, ...(until === undefined ? {} : { until }) });
  }

  /**
   * Moves the retain-until date of the version this process reads to
   * `retention.until`, when it ends before `ifBefore`; never shortens one.
   */
  async extendRetention(handle: Handle, retention: LockRetention, ifBefore: Date): Promise<ExtendOutcome> {
    const pick = await this.pick(handle);
    const current = await this.store.retentionOf(handle, pick.versionId);
    if (current !== undefined && (current.until >= ifBefore || current.until >= retention.until)) return 'fine';
    // A version keeps its mode: S3 refuses to weaken COMPLIANCE, and changing a GOVERNANCE one needs the bypass permission.
    const mode = current?.mode ?? retention.mode;
    await this.store.setRetention(handle, pick.versionId, { mode, until: retention.until });
    return 'extended';
  }

  /** The version this process reads, and its retention. */
  async retentionOf(handle: Handle): Promise<LockRetention | undefined> {
    const pick = await this.pick(handle);
    return this.store.retentionOf(handle, pick.versionId);
  }

  /** Every recovery so far, as the operator reads it. */
  recoveryMessages(): string[] {
    return this.recoveries.map((r) => describeRecovery({ kind: r.kind, name: r.name }, r.why, { versionId: r.versionId, modified: r.written }));
  }

  /** The waiting objects recorded since the last call, handed over once. */
  takeWaiting(): Waiting[] {
    return this.waiting.splice(0);
  }

  create(): Promise<void> {
    return this.store.create();
  }

  /** Whether a config exists in any version: a delete marker on it must not make init write a new repository over the old. */
  async exists(): Promise<boolean> {
    try {
      await this.pick({ kind: 'config', name: 'config' });
      return true;
    } catch (e) {
      if (isLifeboatError(e, 'BACKEND_NOT_FOUND')) return false;
      throw e;
    }
  }

  close(): Promise<void> {
    return this.store.close();
  }

  private pick(handle: Handle): Promise<ChosenVersion> {
    const key = objectPath(handle);
    let pick = this.picked.get(key);
    if (pick === undefined) {
      pick = this.versionsOf(handle).then((versions) => this.choose(handle, versions));
      this.picked.set(key, pick);
      // A failed pick (not found, store down) is not remembered: the next call asks again.
      pick.catch(() => this.picked.delete(key));
    }
    return pick;
  }

  private async versionsOf(handle: Handle): Promise<ObjectVersion[]> {
    const versions: ObjectVersion[] = [];
    for await (const version of this.store.listVersions(handle.kind, handle)) versions.push(version);
    return versions;
  }

  /** `versions`: one object's, newest first, as ListObjectVersions gives them. */
  private async choose(handle: Handle, versions: readonly ObjectVersion[]): Promise<ChosenVersion> {
    const real = versions.filter((v) => !v.deleteMarker);
    const current = versions[0];
    const newest = real[0];
    if (current === undefined || newest === undefined) {
      throw new LifeboatError('BACKEND_NOT_FOUND', `load ${this.location}/${objectPath(handle)}: not found (no version of it either)`, {
        details: { op: 'load', kind: handle.kind, name: handle.name },
      });
    }
    const untouched = !current.deleteMarker && real.length === 1;
    if (untouched || !contentAddressedKinds.has(handle.kind)) {
      if (current.deleteMarker) this.recovered(handle, 'deleted', newest);
      return { versionId: newest.versionId, size: newest.size, modified: newest.modified };
    }
    for (const version of real) {
      const bytes = await this.store.loadVersion(handle, version.versionId);
      if (createHash('sha256').update(bytes).digest('hex') !== handle.name) continue;
      if (version !== current) this.recovered(handle, current.deleteMarker ? 'deleted' : 'damaged', version);
      // Packs are read by ranges and can be large: their bytes are not kept for later.
      return { versionId: version.versionId, size: version.size, modified: version.modified, ...(handle.kind === 'data' ? {} : { bytes }) };
    }
    // No version verifies: read the current one, as without a lock; the caller's checks report it.
    return { versionId: newest.versionId, size: newest.size, modified: newest.modified };
  }

  private recovered(handle: Handle, why: Recovery['why'], version: ObjectVersion): void {
    this.recoveries.push({ kind: handle.kind, name: handle.name, why, versionId: version.versionId, written: version.modified });
    this.onRecovery?.(describeRecovery(handle, why, version));
  }
}

const kindWord: Record<FileKind, string> = { config: 'config', keys: 'key file', data: 'pack', index: 'index file', snapshots: 'snapshot', locks: 'lock' };

/** "pack 3fa9c2d1e0b4: current version deleted, restored from locked version 8c1f… (written 2026-12-01T02:00:00.000Z)". */
export function describeRecovery(handle: Handle, why: Recovery['why'], version: Pick<ObjectVersion, 'versionId' | 'modified'>): string {
  const name = handle.kind === 'config' ? '' : ` ${handle.name.slice(0, 12)}`;
  return `${kindWord[handle.kind]}${name}: current version ${why}, restored from locked version ${version.versionId.slice(0, 12)} (written ${version.modified.toISOString()})`;
}

/** The object lock wrapper of a backend, when it is one. */
export function isObjectLockBackend(backend: Backend): backend is ObjectLockBackend {
  return backend instanceof ObjectLockBackend;
}
