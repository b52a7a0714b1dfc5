/**
 * A description of a folder as a restore must reproduce it: per relative path,
 * the type, permission bits, mtime, size, content hash and symlink target.
 * Comparing two manifests is how the round-trip tests say "byte- and
 * metadata-identical" without trusting the code under test.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';

export interface ManifestEntry {
  type: 'file' | 'dir' | 'symlink';
  /** Permission bits; undefined for symlinks (always 0777 on Linux, never restored). */
  mode?: number;
  mtimeMs: number;
  uid: number;
  gid: number;
  size?: number;
  sha256?: string;
  target?: string;
}

export type Manifest = Map<string, ManifestEntry>;

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Walk `root` without following symlinks; the root itself is `.`. `skip` leaves out paths (and what is below them). */
export async function manifestOf(root: string, skip: (rel: string) => boolean = () => false): Promise<Manifest> {
  const out: Manifest = new Map();
  async function visit(abs: string, rel: string): Promise<void> {
    if (skip(rel)) return;
    const st = await lstat(abs);
    const base = { mtimeMs: st.mtimeMs, uid: st.uid, gid: st.gid };
    if (st.isSymbolicLink()) {
      out.set(rel, { type: 'symlink', ...base, target: await readlink(abs) });
    } else if (st.isDirectory()) {
      out.set(rel, { type: 'dir', mode: st.mode & 0o7777, ...base });
      for (const name of (await readdir(abs)).sort()) await visit(join(abs, name), rel === '.' ? name : `${rel}/${name}`);
    } else if (st.isFile()) {
      out.set(rel, { type: 'file', mode: st.mode & 0o7777, ...base, size: st.size, sha256: await sha256File(abs) });
    } else {
      throw new Error(`${abs}: unexpected file type in a test tree`);
    }
  }
  await visit(root, '.');
  return out;
}

/** Drop entries (and everything under them) for which `drop(rel)` is true. */
export function withoutPaths(m: Manifest, drop: (rel: string) => boolean): Manifest {
  return new Map([...m].filter(([rel]) => !drop(rel)));
}

/**
 * Assert that `actual` reproduces `expected`: the same paths, and for each the
 * same type, mode, owner, size, content and target, and the same mtime to the
 * millisecond (the stored value is a double of milliseconds, so the nanosecond
 * tail may differ).
 */
export function expectSameManifest(actual: Manifest, expected: Manifest): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [rel, want] of expected) {
    const got = actual.get(rel)!;
    const { mtimeMs: gotMtime, ...gotRest } = got;
    const { mtimeMs: wantMtime, ...wantRest } = want;
    expect({ path: rel, ...gotRest }).toEqual({ path: rel, ...wantRest });
    expect(Math.abs(gotMtime - wantMtime), `mtime of ${rel}: got ${new Date(gotMtime).toISOString()} want ${new Date(wantMtime).toISOString()}`).toBeLessThan(1);
  }
}
