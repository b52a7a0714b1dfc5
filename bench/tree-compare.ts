/**
 * Fingerprints of a folder tree, to check a restore against its source outside
 * the timed region.
 *
 * Compared: the set of relative paths and their types (file, folder, symlink);
 * for files the size and SHA-256 of the contents, the permission bits and the
 * mtime (to the millisecond); for symlinks the target; for folders the
 * permission bits. Content differences fail the check; mode and mtime
 * differences are counted and reported separately.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Entry {
  type: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  mode: number;
  mtimeMs: number;
  hash?: string;
  target?: string;
}

export type Fingerprint = Map<string, Entry>;

const CHUNK = 8 * 1024 * 1024;

function hashFile(abs: string, size: number, buf: Buffer): string {
  const h = createHash('sha256');
  if (size <= buf.length) {
    h.update(fs.readFileSync(abs));
    return h.digest('hex');
  }
  const fd = fs.openSync(abs, 'r');
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

export function fingerprint(root: string): Fingerprint {
  const out: Fingerprint = new Map();
  const buf = Buffer.allocUnsafe(CHUNK);
  const walk = (rel: string): void => {
    const abs = rel ? path.join(root, rel) : root;
    for (const name of fs.readdirSync(abs).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = path.join(abs, name);
      const st = fs.lstatSync(p);
      const mode = st.mode & 0o7777;
      const mtimeMs = Math.floor(st.mtimeMs);
      if (st.isDirectory()) {
        out.set(r, { type: 'dir', size: 0, mode, mtimeMs });
        walk(r);
      } else if (st.isFile()) {
        out.set(r, { type: 'file', size: st.size, mode, mtimeMs, hash: hashFile(p, st.size, buf) });
      } else if (st.isSymbolicLink()) {
        out.set(r, { type: 'symlink', size: 0, mode, mtimeMs, target: fs.readlinkSync(p) });
      } else {
        out.set(r, { type: 'other', size: 0, mode, mtimeMs });
      }
    }
  };
  walk('');
  return out;
}

export interface Comparison {
  ok: boolean;
  entries: number;
  bytes: number;
  missing: string[];
  extra: string[];
  /** Type, size, hash or link target differs. */
  contentDiffs: string[];
  modeDiffs: string[];
  mtimeDiffs: string[];
}

export function compare(source: Fingerprint, restored: Fingerprint): Comparison {
  const c: Comparison = { ok: true, entries: source.size, bytes: 0, missing: [], extra: [], contentDiffs: [], modeDiffs: [], mtimeDiffs: [] };
  for (const [rel, s] of source) {
    if (s.type === 'file') c.bytes += s.size;
    const r = restored.get(rel);
    if (!r) {
      c.missing.push(rel);
      continue;
    }
    if (r.type !== s.type || r.size !== s.size || r.hash !== s.hash || r.target !== s.target) c.contentDiffs.push(rel);
    if (r.mode !== s.mode) c.modeDiffs.push(rel);
    if (s.type === 'file' && r.mtimeMs !== s.mtimeMs) c.mtimeDiffs.push(rel);
  }
  for (const rel of restored.keys()) if (!source.has(rel)) c.extra.push(rel);
  c.ok = c.missing.length === 0 && c.extra.length === 0 && c.contentDiffs.length === 0;
  return c;
}

export function describeComparison(c: Comparison): string {
  const few = (xs: string[]): string => (xs.length ? ` (${xs.slice(0, 3).join(', ')}${xs.length > 3 ? ', …' : ''})` : '');
  const head = c.ok ? 'identical content' : 'CONTENT DIFFERS';
  return (
    `${head}: ${c.entries} entries, ${(c.bytes / 1e6).toFixed(1)} MB; missing ${c.missing.length}${few(c.missing)}, ` +
    `extra ${c.extra.length}${few(c.extra)}, content ${c.contentDiffs.length}${few(c.contentDiffs)}, ` +
    `mode ${c.modeDiffs.length}${few(c.modeDiffs)}, file mtime ${c.mtimeDiffs.length}${few(c.mtimeDiffs)}`
  );
}

/** Sum of regular-file sizes under `root` (apparent bytes; folders not counted). */
export function treeBytes(root: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  if (!fs.existsSync(root)) return { bytes, files };
  const walk = (abs: string): void => {
    for (const d of fs.readdirSync(abs, { withFileTypes: true })) {
      const p = path.join(abs, d.name);
      if (d.isDirectory()) walk(p);
      else if (d.isFile()) {
        bytes += fs.lstatSync(p).size;
        files++;
      }
    }
  };
  walk(root);
  return { bytes, files };
}

/** Reads every file once (warms the page cache); returns bytes read. */
export function warmTree(root: string): number {
  let bytes = 0;
  const buf = Buffer.allocUnsafe(CHUNK);
  const walk = (abs: string): void => {
    for (const d of fs.readdirSync(abs, { withFileTypes: true })) {
      const p = path.join(abs, d.name);
      if (d.isDirectory()) walk(p);
      else if (d.isFile()) {
        const fd = fs.openSync(p, 'r');
        try {
          for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) bytes += n;
        } finally {
          fs.closeSync(fd);
        }
      }
    }
  };
  walk(root);
  return bytes;
}
