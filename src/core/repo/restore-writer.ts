/**
 * Writes a planned restore (snapshot-plan.ts) into a target folder, as its
 * preview (restore-preview.ts) decided: make the folders, then read packs in
 * spans and let the workers decrypt, verify and write, then replace, set
 * metadata, and with `delete` remove what the snapshot lacks.
 *
 * Safety: directories that already exist must be real directories; a file
 * is created with O_CREAT|O_EXCL|O_NOFOLLOW, so a symlink or hard link
 * planted at its path (before or during the restore) fails that one file
 * instead of being written through; owner, mode and times are set on
 * descriptors opened with O_NOFOLLOW (fchown/fchmod/futimes), never through
 * a path that could follow a symlink; symlinks are created last and only
 * touched with lchown/lutimes. (Names that could escape the target were
 * refused by the plan.)
 *
 * What the target already holds is touched only as the preview says. A path
 * the preview found empty is created, never cleared first: anything put there
 * since fails that file (O_EXCL) rather than being overwritten. A path it
 * replaces is written in full to a temporary name in the same folder
 * (created the same way), metadata set, fsynced, and renamed over the old
 * entry, then the folder fsynced: a crash leaves either the old file or the
 * new one, never a half-written one (and at worst a `.lifeboat-restore-*`
 * file beside it). A rename replaces the entry itself: it never writes
 * through a symlink or a hard link at that path.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lchown, lstat, lutimes, mkdir, open, readdir, rename, rmdir, symlink, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { LifeboatError } from '../errors.js';
import type { BlobLocation } from './format.js';
import { mapLimit, type Repository } from './repository.js';
import { PackSpanReader, remoteSpanMax } from './pack-span-reads.js';
import { restorePrepared } from './release-memory.js';
import type { RestoreChange, RestorePreview } from './restore-preview.js';
import { RestoreValidator, type FileCheck, type ValidateOptions, type ValidationOutcome } from './restore-validation.js';
import type { PlannedFile, PlannedNode, SnapshotPlan } from './snapshot-plan.js';
import type { TreeNode } from './tree.js';
import { WorkerPool, defaultWorkerCount, localPackPath } from './worker-pool.js';
import type { RestoreBlobJob, RestoreTarget } from './worker-protocol.js';

export interface WriteOptions {
  /** An existing folder (restoreSnapshot makes it). */
  target: string;
  signal?: AbortSignal;
  workers?: number;
  onProgress?: (p: RestoreProgress) => void;
  /** Phase boundaries for drills: folders made and paths cleared (blobs located), last pack fetched. */
  onMilestone?: (milestone: 'planned' | 'fetched', outcome: RestoreOutcome) => void;
  /**
   * Re-read every file this restore writes from disk as soon as it is complete and check
   * it against the snapshot (restore-validation.ts), while the rest is restored: a drill.
   */
  validate?: ValidateOptions;
}

export interface WriteDecisions {
  /** What to do with each path that exists (restore-preview.ts); without it the target must hold none of the plan's paths. */
  preview?: RestorePreview;
}

export interface RestoreProgress {
  files: number;
  bytes: number;
  totalFiles: number;
  totalBytes: number;
}

export interface RestoreOutcome extends RestoreProgress {
  dirs: number;
  symlinks: number;
  /** Files and symlinks that replaced what the target held (counted in `files` and `symlinks` too). */
  replaced: number;
  /** Paths the target held that the policy kept. */
  skipped: number;
  /** Entries of the target the snapshot lacks, removed (`delete`); a folder counts once. */
  deleted: number;
  packsRead: number;
  bytesFetched: number;
  failed: { path: string; error: string }[];
  /** With `validate`: the files re-read, and those that do not match the snapshot. */
  validation?: ValidationOutcome;
}

/**
 * A file one blob is written into, as the plan has it: its path and the worker's target
 * (RestoreTarget, with the file's metadata when the blob is the whole file) are made only
 * when its span is read (`targetOf`). Kept for every blob until then, a target's own path
 * string and metadata object were ~240 bytes a file (~12 MiB of the 50k-file tree restore).
 */
interface Want {
  file: PlannedFile;
  /** Offset of the blob inside the file. */
  offset: number;
  /** A temporary name beside the file (it replaces what the target holds); otherwise the file's own path. */
  temp?: string;
  /** With `validate`: the check of the file (restore-validation.ts), counted down as this blob is written. */
  check?: FileCheck;
}

/**
 * A blob to read, and the first file it goes into (itself a Want: nearly every blob goes into
 * one file, and a Want object and an array of one per blob were ~4 MiB of the 50k-file tree
 * restore's heap); `more` are the files it also goes into.
 */
interface NeededBlob extends Want {
  loc: BlobLocation;
  more?: Want[];
}

const wantsOf = (b: NeededBlob): Want[] => (b.more === undefined ? [b] : [b, ...b.more]);

interface FileMeta {
  path: string;
  node: TreeNode;
}

/** A file or symlink written under a temporary name, renamed over `final` once complete. */
interface Replacement {
  temp: string;
  final: string;
}

/** A multi-blob file as created while preparing: its metadata goes only to that same inode. */
interface CreatedFile extends FileMeta {
  dev: number;
  ino: number;
}

/** One read of a pack: blobs closer than SPAN_GAP, at most SPAN_MAX bytes. */
interface Span {
  pack: string;
  offset: number;
  length: number;
  blobs: NeededBlob[];
}

/** Blobs in one pack closer than this are read in one request rather than two. */
const SPAN_GAP = 1024 * 1024;
/**
 * A worker reads a local span into its one reused buffer, whose touched pages stay
 * resident: 2 MiB spans (a longer blob is read alone) kept the mixed restore's peak
 * RSS ~15 MiB under 8 MiB spans (207-212 -> 190-193 MiB, alternating runs), at no
 * measurable CPU cost. Remote reads size theirs in pack-span-reads.ts.
 */
const SPAN_MAX = 2 * 1024 * 1024;

export async function writeRestore(repo: Repository, plan: SnapshotPlan, options: WriteOptions & WriteDecisions): Promise<RestoreOutcome> {
  const { target, signal, preview } = options;
  const asRoot = process.getuid?.() === 0;
  const failed: RestoreOutcome['failed'] = [];
  const outcome: RestoreOutcome = {
    files: 0,
    bytes: 0,
    totalFiles: plan.files.length,
    totalBytes: plan.fileBytes,
    dirs: 0,
    symlinks: 0,
    replaced: 0,
    skipped: 0,
    deleted: 0,
    packsRead: 0,
    bytesFetched: 0,
    failed,
  };
  const byPack = new Map<string, Map<string, NeededBlob>>();
  const multiBlobFiles: CreatedFile[] = [];
  const dirsToFinish: FileMeta[] = [];
  const symlinks: (FileMeta & { replace: boolean })[] = [];
  const replacements: Replacement[] = [];
  // A folder that existed gets the snapshot's owner, mode and times, as restic does (they are not data, and a
  // restore into a folder made for it expects them); `never` keeps everything that is there as it is.
  const finishExistingDirs = preview?.policy !== 'never';
  const tempToken = randomBytes(4).toString('hex');
  /**
   * A planned path under the target. Not path.join: it builds its result a segment at a time,
   * and every path it returned was kept (in a blob's targets, a folder to finish) as a chain of
   * ~10 string pieces: ~30 MiB of the 50k-file tree restore's heap. A plan's rel needs no
   * normalising (plain names joined by '/', checked by the plan: assertSafeTree).
   */
  const base = target.endsWith(sep) ? target : target + sep;
  const under = (rel: string): string => flat(base + rel);
  let temps = 0;
  const tempFor = (path: string): string => join(dirname(path), `.lifeboat-restore-${tempToken}-${++temps}`);

  /**
   * What the preview decided for an entry whose parent existed. `undefined`:
   * nothing was there, create it. A path that is in conflict (no policy; the
   * restorer refuses those before writing) or refused is not written.
   */
  function decisionFor(rel: string, path: string): RestoreChange | 'create' | 'not written' {
    const change = preview?.existing.get(rel);
    if (change === undefined) return 'create';
    if (change.action === 'skip') {
      outcome.skipped++;
      return 'not written';
    }
    if (change.action === 'replace') return change;
    failed.push({ path, error: change.reason ?? 'something is there and no --overwrite policy replaces it' });
    return 'not written';
  }

  const pathOf = (w: Want): string => w.temp ?? under(w.file.rel);
  /** What the worker is told: a single-blob file is the blob (`whole`: create it, write it, set its metadata). */
  const targetOf = (w: Want): RestoreTarget => {
    const path = pathOf(w);
    if (w.file.locs.length !== 1) return { path, offset: w.offset };
    const { node } = w.file;
    return { path, offset: 0, whole: { mode: node.mode, mtimeMs: node.mtimeMs, uid: node.uid, gid: node.gid } };
  };

  function need(loc: BlobLocation, file: PlannedFile, offset: number, temp: string | undefined, check: FileCheck | undefined): void {
    let blobs = byPack.get(loc.pack);
    if (!blobs) byPack.set(loc.pack, (blobs = new Map()));
    // Arrays made by a literal hold exactly what they are given; one grown by push from empty
    // reserves 17 slots (~150 bytes), one per blob of the 50k-file tree's restore (~7 MiB).
    // Made whole by one literal: a property added later (a drill's check) went to a separate
    // property array per blob, and the checks' own arrays of one were ~4 MiB of /usr/share's drill.
    const needed = blobs.get(loc.id);
    if (!needed) {
      const blob: NeededBlob =
        check === undefined ? (temp === undefined ? { loc, file, offset } : { loc, file, offset, temp }) : temp === undefined ? { loc, file, offset, check } : { loc, file, offset, temp, check };
      blobs.set(loc.id, blob);
      return;
    }
    const want: Want = check === undefined ? (temp === undefined ? { file, offset } : { file, offset, temp }) : temp === undefined ? { file, offset, check } : { file, offset, temp, check };
    if (needed.more) needed.more.push(want);
    else needed.more = [want];
  }

  /** Files complete before the pool starts (empty ones) wait here for the validator. */
  const completeEarly: FileCheck[] = [];

  /**
   * `fresh`: the folder was just created by this restore. Otherwise the
   * preview says whether something sits at `path` and what to do with it: a
   * replacement is written to a temporary name (writing in place would follow
   * a symlink, refused by O_NOFOLLOW, or write through a hard link into a file
   * outside the target, and a crash would leave a half-written file).
   */
  async function prepareFile(finalPath: string, file: PlannedFile, fresh: boolean): Promise<void> {
    const { node, locs } = file;
    let path = finalPath;
    let temp: string | undefined;
    if (!fresh) {
      const decision = decisionFor(file.rel, finalPath);
      if (decision === 'not written') return;
      if (decision !== 'create') {
        path = temp = tempFor(finalPath);
        replacements.push({ temp, final: finalPath });
      }
    }
    if (file.missing !== undefined) {
      failed.push({ path, error: `blob ${file.missing[0]!.slice(0, 12)} is missing from the repository index` });
      return;
    }
    const check = options.validate === undefined ? undefined : RestoreValidator.checkFor(file, temp);
    if (locs.length === 1) {
      // The worker creates it with O_EXCL (see restoreBlobs in repo-worker.ts).
      need(locs[0]!, file, 0, temp, check);
      return;
    }
    // Empty or multi-blob file: create it here at its final size, workers fill it in.
    let fh: FileHandle;
    try {
      fh = await open(path, CREATE_FLAGS, 0o600);
    } catch (e) {
      failed.push({ path, error: createError(e) });
      return;
    }
    try {
      if (locs.length === 0) {
        // Nothing left to write: its metadata goes on now, on the descriptor just created.
        await setMeta(fh, node, asRoot);
        outcome.files++;
        if (check !== undefined) completeEarly.push(check);
        return;
      }
      if ((node.size ?? 0) > 0) await fh.truncate(node.size);
      const { dev, ino } = await fh.stat();
      multiBlobFiles.push({ path, node, dev, ino });
    } catch (e) {
      failed.push({ path, error: (e as Error).message });
      return;
    } finally {
      await fh.close();
    }
    let offset = 0;
    for (const loc of locs) {
      need(loc, file, offset, temp, check);
      offset += loc.rawLength;
    }
  }

  async function prepare(entry: PlannedNode, parentFresh: boolean): Promise<void> {
    const path = under(entry.rel);
    if (entry.kind === 'file') return prepareFile(path, entry, parentFresh);
    if (entry.kind === 'symlink') {
      const decision = parentFresh ? 'create' : decisionFor(entry.rel, path);
      if (decision !== 'not written') symlinks.push({ path, node: entry.node, replace: decision !== 'create' });
      return;
    }
    if (signal?.aborted) throw new LifeboatError('CANCELLED', 'restore cancelled');
    // A non-folder where the snapshot has a folder was refused by the preview; ensureDir refuses one put there since.
    const created = await ensureDir(path);
    outcome.dirs++;
    if (entry.listingError !== undefined) failed.push({ path, error: `folder listing: ${entry.listingError.message}` });
    for (const child of entry.children) await prepare(child, created);
    if (created || finishExistingDirs) dirsToFinish.push({ path, node: entry.node });
  }

  // The workers start now and load their code while the folders are made (the tree restore's
  // prepare takes seconds). No more workers than packs to read: each loads the worker code
  // before its first job, so a one-file restore waits for one, not for one per core.
  const wanted = options.workers ?? defaultWorkerCount();
  const packsToRead = packsNeeded(plan, preview, wanted);
  const validating = options.validate !== undefined && plan.files.length > 0;
  const pool = packsToRead === 0 && !validating ? undefined : new WorkerPool(repo, { workers: Math.max(1, Math.min(wanted, packsToRead)) });
  const validator = validating && pool ? new RestoreValidator(pool, under, options.validate) : undefined;
  try {
    for (const rel of plan.parents) await ensureDir(join(target, rel));
    for (const entry of plan.entries) await prepare(entry, false);
  } catch (e) {
    await pool?.close();
    throw e;
  }

  // Fetch and write, pack by pack, in spans.
  const spans = spansOf(byPack, remoteSpanMax(repo.backend) ?? SPAN_MAX);
  // What planning, the preview and the preparation left behind goes before the write phase, the peak.
  restorePrepared(plan.files.length);
  const reader = new PackSpanReader(repo.backend, spans, SPAN_GAP);
  try {
    for (const check of completeEarly) validator?.complete(check);
    outcome.packsRead = byPack.size;
    options.onMilestone?.('planned', outcome);
    let fetchesLeft = spans.length;
    if (fetchesLeft === 0) options.onMilestone?.('fetched', outcome);
    await mapLimit(spans, (pool?.size ?? 0) * 2 + 1, async (span) => {
      if (!pool) throw new LifeboatError('INTERNAL', `restore planned no pack reads but has ${spans.length} span(s)`);
      if (signal?.aborted) throw new LifeboatError('CANCELLED', 'restore cancelled');
      const jobs: RestoreBlobJob[] = span.blobs.map((b) => {
        const wants = wantsOf(b);
        const targets = wants.map(targetOf);
        return {
          id: b.loc.id,
          at: b.loc.offset - span.offset,
          length: b.loc.length,
          rawLength: b.loc.rawLength,
          compressed: b.loc.compressed,
          legacy: b.loc.legacy,
          targets,
          // A drill hashes these bytes against the id once they are on disk (restore-validation.ts): once is enough.
          ...(validator !== undefined && wants.every((w) => w.check !== undefined) ? { idCheckedOnReRead: true } : {}),
        };
      });
      const done = (res: { written: number; failed: { path: string; error: string }[] }) => {
        failed.push(...res.failed);
        outcome.bytes += res.written;
        const failedNow = new Set(res.failed.map((f) => f.path));
        outcome.files += jobs.reduce((n, j) => n + j.targets.filter((t) => t.whole && !failedNow.has(t.path)).length, 0);
        if (validator) span.blobs.forEach((b, k) => wantsOf(b).forEach((w, i) => w.check && validator.blobDone(w.check, !failedNow.has(jobs[k]!.targets[i]!.path))));
        options.onProgress?.(outcome);
      };
      const path = localPackPath(repo.backend, span.pack);
      const fromFile = path === undefined ? undefined : await pool.restoreFromFile(span.pack, { path, offset: span.offset, length: span.length }, jobs, asRoot);
      if (fromFile) {
        outcome.bytesFetched += span.length;
        if (--fetchesLeft === 0) options.onMilestone?.('fetched', outcome);
        done(fromFile);
        return;
      }
      // Not local, or the worker could not read it: the backend loads it (and reports why it cannot).
      let data: Buffer;
      try {
        data = await reader.load(span);
      } catch (e) {
        for (const j of jobs) for (const t of j.targets) failed.push({ path: t.path, error: `pack ${span.pack.slice(0, 12)}: ${(e as Error).message}` });
        if (validator) for (const b of span.blobs) for (const w of wantsOf(b)) if (w.check) validator.blobDone(w.check, false);
        if (--fetchesLeft === 0) options.onMilestone?.('fetched', outcome);
        return;
      }
      outcome.bytesFetched += data.length;
      if (--fetchesLeft === 0) options.onMilestone?.('fetched', outcome);
      done(await pool.restore(span.pack, data, jobs, asRoot));
    });
    if (validator) outcome.validation = await validator.finish();
  } finally {
    reader.close();
    await pool?.close();
  }

  const failedPaths = new Set(failed.map((f) => f.path));
  for (const f of multiBlobFiles) {
    if (failedPaths.has(f.path)) continue;
    try {
      await applyFileMeta(f.path, f.node, asRoot, f);
      outcome.files++;
    } catch (e) {
      failed.push({ path: f.path, error: (e as Error).message });
      failedPaths.add(f.path);
    }
  }
  // Replacements: complete, durable copies renamed over what was there; a failed one leaves the old entry as it was.
  const renamedIn = new Set<string>();
  for (const r of replacements) {
    if (failedPaths.has(r.temp)) {
      await unlinkIfPresent(r.temp).catch(() => undefined);
      continue;
    }
    try {
      await syncFile(r.temp);
      await rename(r.temp, r.final);
      renamedIn.add(dirname(r.final));
      outcome.replaced++;
    } catch (e) {
      failed.push({ path: r.temp, error: (e as Error).message });
      await unlinkIfPresent(r.temp).catch(() => undefined);
    }
  }
  // Symlinks and folders' metadata are one short syscall each, several per entry: run side by side
  // (the 50k-file tree's 4,000 symlinks and 4,800 folders took ~6 s one at a time). Failures are
  // reported in plan order, as before.
  const symlinkFailures = await mapLimit(symlinks, FINISH_CONCURRENCY, async (s) => {
    const path = s.replace ? tempFor(s.path) : s.path;
    try {
      // Nothing was here when the preview looked (or this is a temporary name): a symlink put here since fails with EEXIST.
      await symlink(s.node.target ?? '', path);
      if (asRoot && s.node.uid !== undefined) await lchown(path, s.node.uid, s.node.gid ?? -1);
      await lutimes(path, s.node.mtimeMs / 1000, s.node.mtimeMs / 1000);
      if (s.replace) {
        await rename(path, s.path);
        renamedIn.add(dirname(s.path));
        outcome.replaced++;
      }
      outcome.symlinks++;
      return undefined;
    } catch (e) {
      if (s.replace) await unlinkIfPresent(path).catch(() => undefined);
      return { path: s.path, error: (e as Error).message };
    }
  });
  for (const f of symlinkFailures) if (f !== undefined) failed.push(f);
  for (const dir of renamedIn) await syncDir(dir);
  // A failure in a temporary file is the failure of the file it was to replace.
  const finalOf = new Map(replacements.map((r) => [r.temp, r.final]));
  for (const f of failed) f.path = finalOf.get(f.path) ?? f.path;
  for (const d of preview?.deletions ?? []) {
    const path = join(target, d.rel);
    try {
      await assertRealFolders(target, d.rel);
      await removeEntry(path);
      outcome.deleted++;
    } catch (e) {
      failed.push({ path, error: `not removed: ${(e as Error).message}` });
    }
  }
  // Deepest directories first: a parent's mode is set only once nothing below it needs opening
  // (a folder restored without search permission would hide its children). Folders of one depth
  // are independent, so they go side by side; failures are reported in the order of old.
  const dirFailures = new Map<FileMeta, string>();
  for (const level of byDepthDeepestFirst(dirsToFinish)) {
    await mapLimit(level, FINISH_CONCURRENCY, async (d) => {
      try {
        await applyDirMeta(d.path, d.node, asRoot);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const replaced = code === 'ENOTDIR' || code === 'ELOOP' ? ' (no longer a directory: replaced during the restore; its owner, mode and times were not set)' : '';
        dirFailures.set(d, `${(e as Error).message}${replaced}`);
      }
    });
  }
  for (const d of dirsToFinish) {
    const error = dirFailures.get(d);
    if (error !== undefined) failed.push({ path: d.path, error });
  }
  options.onProgress?.(outcome);
  return outcome;
}

/**
 * `s` as one sequential string: a path made by concatenation is a tree of pieces (a rope)
 * until something flattens it, and a kept rope costs its pieces. Number() reads every
 * character, which makes V8 flatten it in place.
 */
function flat(s: string): string {
  void Number(s);
  return s;
}

/** Metadata calls in flight at once when finishing symlinks and folders (libuv runs 4 at a time). */
const FINISH_CONCURRENCY = 16;

/** Folders grouped by depth (separators in the path), deepest group first, each in the order given. */
function byDepthDeepestFirst(dirs: readonly FileMeta[]): FileMeta[][] {
  const levels = new Map<number, FileMeta[]>();
  for (const d of dirs) {
    let depth = 0;
    for (let i = d.path.indexOf('/'); i !== -1; i = d.path.indexOf('/', i + 1)) depth++;
    let level = levels.get(depth);
    if (!level) levels.set(depth, (level = []));
    level.push(d);
  }
  return [...levels.entries()].sort(([a], [b]) => b - a).map(([, level]) => level);
}

/**
 * Distinct packs the restore reads, counted up to `enough` (the worker count): the pool is
 * started before the folders are made, when the spans are not known yet. A file the preview
 * skips reads nothing.
 */
function packsNeeded(plan: SnapshotPlan, preview: RestorePreview | undefined, enough: number): number {
  const packs = new Set<string>();
  for (const file of plan.files) {
    if (file.locs.length === 0 || preview?.existing.get(file.rel)?.action === 'skip') continue;
    for (const loc of file.locs) {
      packs.add(loc.pack);
      if (packs.size >= enough) return packs.size;
    }
  }
  return packs.size;
}

/** The pack reads of a restore, pack by pack in id order, each pack's blobs by offset. */
function spansOf(byPack: ReadonlyMap<string, ReadonlyMap<string, NeededBlob>>, spanMax: number): Span[] {
  const spans: Span[] = [];
  for (const [pack, blobs] of [...byPack.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const sorted = [...blobs.values()].sort((a, b) => a.loc.offset - b.loc.offset);
    let span: Span | undefined;
    for (const b of sorted) {
      const end = b.loc.offset + b.loc.length;
      if (span && b.loc.offset - (span.offset + span.length) <= SPAN_GAP && end - span.offset <= spanMax) {
        span.length = end - span.offset;
        span.blobs.push(b);
      } else {
        span = { pack, offset: b.loc.offset, length: b.loc.length, blobs: [b] };
        spans.push(span);
      }
    }
  }
  return spans;
}

/** True when this call created the folder (so it is empty and nothing in it needs replacing). */
async function ensureDir(path: string): Promise<boolean> {
  try {
    await mkdir(path, { mode: 0o700 });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const st = await lstat(path);
    if (!st.isDirectory()) {
      throw new LifeboatError('RESTORE_UNSAFE_PATH', `refusing to restore into ${path}: it exists and is not a directory (a symlink could lead outside the target)`);
    }
    return false;
  }
}

/**
 * How a restore creates a file: never through a symlink (O_NOFOLLOW; with
 * O_EXCL even a dangling one fails) and never into an existing file (O_EXCL:
 * a file or hard link planted after the unlink is not truncated and written).
 */
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Says what an EEXIST from CREATE_FLAGS means here: the path was cleared (or new), so someone else put it there. */
function createError(e: unknown): string {
  const message = (e as Error).message;
  if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return message;
  return `${message} (something was created at this path during the restore; nothing was written through it)`;
}

/**
 * Removes whatever non-directory sits at `path` (a file, a symlink, a hard
 * link to a file elsewhere) so the restore creates its own. One unlink and no
 * lstat: unlink never follows a symlink, and a directory there fails with
 * EISDIR (Linux) or EPERM, which the caller reports for that path.
 */
async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** The file's data on disk before it is renamed over an old one (else a crash could leave the new name with no data). */
async function syncFile(path: string): Promise<void> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The renames in a folder on disk. A file system that cannot fsync a folder (EINVAL) has nothing more to do. */
async function syncDir(path: string): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch {
    return;
  }
  try {
    await fh.sync();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
  } finally {
    await fh.close();
  }
}

/**
 * Every folder between the target and `rel` is still a real folder: a
 * symlink put in place of one since the preview would lead a removal out of
 * the target.
 */
async function assertRealFolders(target: string, rel: string): Promise<void> {
  const parts = rel.split('/').slice(0, -1);
  let path = target;
  for (const part of parts) {
    path = join(path, part);
    if (!(await lstat(path)).isDirectory()) throw new LifeboatError('RESTORE_UNSAFE_PATH', `${path} is no longer a folder`);
  }
}

/** Removes a file, symlink (the link, never what it points to) or folder with everything in it, looking with lstat only. */
async function removeEntry(path: string): Promise<void> {
  const st = await lstat(path);
  if (!st.isDirectory()) {
    await unlink(path);
    return;
  }
  for (const name of await readdir(path)) await removeEntry(join(path, name));
  await rmdir(path);
}

/** Owner, then mode (a chown may clear set-id bits), then times, on an open descriptor. */
async function setMeta(fh: FileHandle, node: TreeNode, asRoot: boolean): Promise<void> {
  if (asRoot && node.uid !== undefined) await fh.chown(node.uid, node.gid ?? -1);
  await fh.chmod(node.mode);
  await fh.utimes(node.mtimeMs / 1000, node.mtimeMs / 1000);
}

/**
 * Sets a restored file's metadata without following a symlink at `path`
 * (ELOOP). `created`: the inode made while preparing; anything else found
 * there now (the file was replaced during the restore) is left untouched.
 * O_NONBLOCK so a FIFO planted there cannot hang the restore.
 */
export async function applyFileMeta(path: string, node: TreeNode, asRoot: boolean, created?: { dev: number; ino: number }): Promise<void> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    if (created !== undefined) {
      const st = await fh.stat();
      if (st.dev !== created.dev || st.ino !== created.ino) {
        throw new LifeboatError('RESTORE_UNSAFE_PATH', `${path} was replaced during the restore; its owner, mode and times were not set`);
      }
    }
    await setMeta(fh, node, asRoot);
  } finally {
    await fh.close();
  }
}

/**
 * Sets a restored directory's metadata; anything at `path` but a directory
 * fails, a symlink included (Linux answers O_DIRECTORY|O_NOFOLLOW on a
 * symlink with ENOTDIR, even when it points to a directory).
 */
export async function applyDirMeta(path: string, node: TreeNode, asRoot: boolean): Promise<void> {
  const fh = await open(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    await setMeta(fh, node, asRoot);
  } finally {
    await fh.close();
  }
}
