/**
 * `npm run bench -- --source DIR`: a tree nobody here generated (a system's
 * /usr/share, a home folder, a checkout) instead of the synthetic datasets.
 * Real trees have what generators forget: one folder of 18k man pages, long
 * names, a 76 MB file next to 40k tiny ones. The tree is only read: each round
 * copies it (cp -a) into the bench's own SRC, as with the generated datasets.
 *
 * The manifest describes what is there (counts, sizes, the largest folder) so
 * the report says which tree was measured; a file's `kind` is not known
 * (text/random are the generators' words) and is left as 'text'.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Dataset, DatasetSpec, Manifest, ManifestFile, ManifestSymlink } from './dataset.js';

const MB = 1e6;
/** At and above this size a file counts as large in the description. */
const LARGE = MB;

export function realTree(dir: string): Dataset {
  const root = path.resolve(dir);
  const started = performance.now();
  const st = fs.statSync(root, { throwIfNoEntry: false });
  if (!st?.isDirectory()) throw new Error(`--source ${dir}: not a folder`);
  const folders: string[] = [];
  const files: ManifestFile[] = [];
  const symlinks: ManifestSymlink[] = [];
  let largestFolder = 0;
  let others = 0;
  const walk = (rel: string): void => {
    const entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
    largestFolder = Math.max(largestFolder, entries.length);
    for (const e of entries) {
      const p = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        folders.push(p);
        walk(p);
      } else if (e.isFile()) {
        const size = fs.lstatSync(path.join(root, p)).size;
        files.push({ path: p, size, kind: 'text', large: size >= LARGE });
      } else if (e.isSymbolicLink()) {
        symlinks.push({ path: p, target: fs.readlinkSync(path.join(root, p)) });
      } else {
        others++;
      }
    }
  };
  walk('');
  if (others > 0) throw new Error(`--source ${dir}: holds ${others} sockets, FIFOs or devices; the bench compares files, folders and symlinks only`);
  const sizes = files.map((f) => f.size);
  const small = extent(sizes.filter((s) => s < LARGE));
  const large = extent(sizes.filter((s) => s >= LARGE));
  const spec: DatasetSpec = {
    label: 'real',
    smallFiles: files.filter((f) => !f.large).length,
    smallMin: small.min,
    smallMax: small.max,
    largeFiles: files.filter((f) => f.large).length,
    largeMin: large.min,
    largeMax: extent(sizes).max,
    perFolderMin: 0,
    perFolderMax: largestFolder,
    maxDepth: extent(folders.map((f) => f.split('/').length)).max,
    symlinkShare: files.length === 0 ? 0 : symlinks.length / files.length,
  };
  const manifest: Manifest = {
    version: 0,
    seed: 0,
    spec,
    folders,
    files,
    symlinks,
    totalBytes: sizes.reduce((a, b) => a + b, 0),
    generatedInMs: performance.now() - started,
  };
  return { dir: root, tree: root, manifest, generated: false };
}

/**
 * Smallest and largest of `values` (0 and 0 when there are none). A loop, not Math.min(...values): a tree of
 * a few hundred thousand files would pass more arguments than a call takes.
 */
function extent(values: readonly number[]): { min: number; max: number } {
  if (values.length === 0) return { min: 0, max: 0 };
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

export function describeRealTree(dir: string, m: Manifest): string {
  const large = m.files.filter((f) => f.large);
  const largeBytes = large.reduce((s, f) => s + f.size, 0);
  return [
    `real tree ${dir}: ${m.files.length} files, ${m.folders.length} folders (up to ${m.spec.maxDepth} deep, the largest holds ${m.spec.perFolderMax} entries), ${m.symlinks?.length ?? 0} symlinks, ${(m.totalBytes / MB).toFixed(1)} MB`,
    `  ${large.length} files ≥ 1 MB (${(largeBytes / MB).toFixed(1)} MB, the largest ${(m.spec.largeMax / MB).toFixed(1)} MB); ${m.files.filter((f) => f.size < 8192).length} files under 8 KiB`,
  ].join('\n');
}
