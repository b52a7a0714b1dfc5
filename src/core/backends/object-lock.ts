/**
 * S3 Object Lock, the parts that need no SDK: which objects are locked, until
 * when, and the shapes the S3 adapter (s3-backend.ts) and the version-aware
 * wrapper (object-lock-backend.ts) exchange. docs/object-lock.md describes the
 * whole design; in short, as kopia does with its retention mode and period:
 * every object is written with a retain-until date, a maintenance job pushes
 * the date forward for what kept snapshots still use, and nothing relies on a
 * deletion having happened. Unlike kopia's point-in-time open, a reader does
 * not pick one moment for the whole repository: each object is read at its
 * newest version that matches its content-addressed name.
 */
import type { FileKind } from './backend.js';

export type LockMode = 'GOVERNANCE' | 'COMPLIANCE';

/** A location's `objectLock` (src/core/runbook/object-lock-schema.ts). */
export interface LockSettings {
  mode: LockMode;
  days: number;
}

/** One version's retention as S3 keeps it. */
export interface LockRetention {
  mode: LockMode;
  until: Date;
}

/** One entry of ListObjectVersions: a version of an object, or a delete marker. */
export interface ObjectVersion {
  name: string;
  versionId: string;
  size: number;
  modified: Date;
  /** The object's current version (or current delete marker). */
  latest: boolean;
  deleteMarker: boolean;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Every kind but lock files. A lock must go when its holder ends: a retained
 * one would block every other process until its retention ran out.
 */
export const lockedKinds: ReadonlySet<FileKind> = new Set<FileKind>(['config', 'keys', 'data', 'index', 'snapshots']);

/** Kinds whose name is the SHA-256 of their bytes, so any version can be checked without a key. */
export const contentAddressedKinds: ReadonlySet<FileKind> = new Set<FileKind>(['keys', 'data', 'index', 'snapshots']);

/** The retain-until date of an object written (or extended) at `now`. */
export function retainUntil(lock: LockSettings, now: Date): Date {
  return new Date(now.getTime() + lock.days * DAY_MS);
}

/**
 * How close to its end a retention is extended by `maintain`: a third of the
 * period, so a daily job that fails for a while still has days to catch up
 * before anything becomes deletable.
 */
export function defaultExtendWithinMs(lock: LockSettings): number {
  return Math.round((lock.days * DAY_MS) / 3);
}
