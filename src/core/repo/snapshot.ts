/**
 * Snapshots (snapshots/<id>): the root of one backup. The root tree holds one
 * node per source: a directory for a path source, a file for a stream source.
 */

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
