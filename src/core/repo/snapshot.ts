/**
 * Snapshots (snapshots/<id>): the root of one backup. The root tree holds one
 * node per source: a directory for a path source, a file for a stream source.
 */
import { LifeboatError } from '../errors.js';

export interface SnapshotSource {
  name: string;
  kind: 'path' | 'command';
  /** The source path (path sources) or the command (stream sources), for display. */
  origin: string;
}

export interface SnapshotStats {
  files: number;
  dirs: number;
  bytes: number;
  /** Bytes of plaintext that were new to the repository. */
  bytesNew: number;
  /** Bytes written to packs for this snapshot (after compression and encryption). */
  bytesStored: number;
  blobsNew: number;
}

export interface Snapshot {
  /** Set when loaded: SHA-256 of the stored file. */
  id: string;
  time: string;
  runbook: string;
  host: string;
  user: string;
  tree: string;
  parent?: string;
  sources: SnapshotSource[];
  stats: SnapshotStats;
  /** Files that could not be read completely (the snapshot is partial). */
  errors?: { path: string; message: string }[];
}

export const shortId = (id: string): string => id.slice(0, 8);

const hexId = /^[0-9a-f]{64}$/;

/**
 * A decrypted snapshot record must have the fields everything else relies on,
 * with the right types: a root tree id, a parseable time, a runbook name, a
 * list of sources. Anything else is damage, named with the snapshot.
 */
export function checkSnapshotRecord(value: unknown, what: string): Omit<Snapshot, 'id'> {
  const bad = (why: string) => new LifeboatError('REPO_CORRUPT', `${what}: ${why}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('not a snapshot record');
  const s = value as Partial<Snapshot>;
  if (typeof s.tree !== 'string' || !hexId.test(s.tree)) throw bad('no valid root tree id');
  if (typeof s.time !== 'string' || Number.isNaN(Date.parse(s.time))) throw bad('no valid time');
  if (typeof s.runbook !== 'string') throw bad('no runbook name');
  if (!Array.isArray(s.sources)) throw bad('no source list');
  if (s.parent !== undefined && (typeof s.parent !== 'string' || !hexId.test(s.parent))) throw bad('an invalid parent id');
  if (typeof s.stats !== 'object' || s.stats === null) throw bad('no stats');
  return value as Omit<Snapshot, 'id'>;
}

/** What makes two snapshot files the same backup: the record without its id (and its parent, which a migration renames). */
export function snapshotContentKey(s: Snapshot): string {
  const { id: _id, parent: _parent, ...record } = s;
  return JSON.stringify(record);
}
