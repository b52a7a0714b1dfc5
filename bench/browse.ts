/**
 * `npm run bench -- --browse`: browsing a repository of 10 snapshots (issue 20),
 * Lifeboat against restic in the same run:
 *
 *   ls       one folder of the newest snapshot     `lifeboat ls`       / `restic ls latest DIR`
 *   find     one file name across all snapshots    `lifeboat find`     / `restic find NAME`
 *   restore  one ~4 KiB file of the newest, into   `lifeboat restore --path P --target DIR`
 *            an empty folder                       / `restic restore latest --include P --target DIR`
 *   diff     the first and the last snapshot       `lifeboat diff A B` / `restic diff A B`
 *
 * Set-up (untimed): the dataset is copied to the bench's source folder, both tools
 * init a repository and back it up; then 9 times an edit in place (a few % of the
 * small files changed, some added and removed) and a backup by each tool. The timed
 * ops run `--rounds` times per tool (order alternating per round); the median wall
 * time is reported. The restored file is compared byte for byte with the source
 * (a difference fails the bench). See bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ByteStream,
  DATA_DIR,
  DEFAULT_SEED,
  FULL_SPEC,
  Prng,
  SMALL_SPEC,
  contentBytes,
  copyTree,
  describeManifest,
  ensureDataset,
  type Manifest,
  type ManifestFile,
} from './dataset.js';
import { runMeasured, tail, waitForIdle, type Command } from './measure.js';
import type { Tool, ToolDirs, ToolName } from './run.js';
import { warmTree } from './tree-compare.js';

export const SNAPSHOTS = 10;
const BROWSE_OPS = ['ls', 'find', 'restore', 'diff'] as const;
type BrowseOp = (typeof BROWSE_OPS)[number];

export interface BrowseBenchDeps {
  /** The adapters of bench/run.ts (lifeboatTool(), resticTool()), those found on this machine. */
  tools: Tool[];
  /** The folder both tools back up (the runbook's source `src`). */
  src: string;
  /** The bench's scratch folder (cleared first). */
  work: string;
  repoRoot: string;
}

interface BrowseOptions {
  rounds: number;
  small: boolean;
  regen: boolean;
  seed: number;
  timeoutS: number;
  idleWaitS: number;
  keep: boolean;
}

const USAGE = `usage: npm run bench -- --browse [options]
  --rounds N           timed repetitions of each op per tool, order alternating (default 5)
  --small              ~90 MB dataset for a quick try
  --regen              regenerate the cached dataset
  --seed N             dataset seed (default ${DEFAULT_SEED})
  --timeout SECONDS    per command (default 600)
  --idle-wait SECONDS  before each timed op, wait up to this long for other processes to
                       use < 0.3 CPU (default 10; 0 = don't wait)
  --keep               leave the repositories and the source under bench/.data/work`;

function parseBrowseArgs(argv: string[]): BrowseOptions | string {
  const o: BrowseOptions = { rounds: 5, small: false, regen: false, seed: DEFAULT_SEED, timeoutS: 600, idleWaitS: 10, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const int = (min: number): number => {
      const v = argv[++i];
      const n = Number(v);
      if (v === undefined || !Number.isInteger(n) || n < min) throw new Error(`${a} wants an integer ≥ ${min}, got "${v ?? ''}"`);
      return n;
    };
    switch (a) {
      case '--rounds': o.rounds = int(1); break;
      case '--small': o.small = true; break;
      case '--regen': o.regen = true; break;
      case '--seed': o.seed = int(0); break;
      case '--timeout': o.timeoutS = int(1); break;
      case '--idle-wait': o.idleWaitS = int(0); break;
      case '--keep': o.keep = true; break;
      case '--help': case '-h': return '';
      default: return `unknown option "${a}" with --browse`;
    }
  }
  return o;
}

// ---------------------------------------------------------------------------
// The edits between snapshots

/**
 * Edit `step` (1…9) of the tree in place, `applyEdit`-style but repeatable (applyEdit
 * is one fixed edit of the base tree): 2% of the small files that are left are
 * overwritten in a region or appended to, 0.5% removed, and as many new files added
 * (in a folder of their own for the step, and scattered). `keep` is never touched.
 * `files` (path → size) is updated.
 */
function editStep(tree: string, manifest: Manifest, files: Map<string, number>, step: number, keep: string): void {
  const rng = new Prng(`lifeboat-bench|browse-edit|${manifest.seed}|${manifest.spec.label}|${step}`);
  const small = [...files.entries()].filter(([p, size]) => p !== keep && size <= manifest.spec.smallMax * 2).map(([p]) => p);
  const order = rng.shuffled(small);
  const nChange = Math.round(small.length * 0.02);
  const nChurn = Math.max(1, Math.round(small.length * 0.005));
  for (const [i, rel] of order.slice(0, nChange).entries()) {
    const abs = path.join(tree, rel);
    const size = files.get(rel) as number;
    const stream = new ByteStream(`lifeboat-bench|browse-edit-file|${step}|${rel}`);
    const len = rng.int(1, 4096);
    if (i % 2 === 0) {
      const n = Math.min(size, len);
      const fd = fs.openSync(abs, 'r+');
      try {
        fs.writeSync(fd, contentBytes('random', n, stream), 0, n, rng.int(0, size - n));
      } finally {
        fs.closeSync(fd);
      }
    } else {
      fs.appendFileSync(abs, contentBytes('text', len, stream));
      files.set(rel, size + len);
    }
  }
  for (const rel of order.slice(nChange, nChange + nChurn)) {
    fs.rmSync(path.join(tree, rel));
    files.delete(rel);
  }
  const newFolder = `${rng.pick(manifest.folders)}/s${String(step).padStart(2, '0')}-added`;
  fs.mkdirSync(path.join(tree, newFolder), { recursive: true });
  for (let i = 0; i < nChurn; i++) {
    const folder = i % 2 === 0 ? newFolder : rng.pick(manifest.folders);
    const rel = `${folder}/s${String(step).padStart(2, '0')}-n${String(i).padStart(4, '0')}.txt`;
    const size = rng.logInt(manifest.spec.smallMin, manifest.spec.smallMax);
    fs.writeFileSync(path.join(tree, rel), contentBytes('text', size, new ByteStream(`lifeboat-bench|browse-added|${step}|${rel}`)));
    files.set(rel, size);
  }
}

/** The small file whose size is closest to 4 KiB (the first such in the manifest). */
function pickFile(files: ManifestFile[]): ManifestFile {
  let best: ManifestFile | undefined;
  for (const f of files) if (!f.large && (!best || Math.abs(f.size - 4096) < Math.abs(best.size - 4096))) best = f;
  if (!best) throw new Error('no small file in the dataset');
  return best;
}

// ---------------------------------------------------------------------------
// Per tool: the commands

interface Snapshots {
  first: string;
  last: string;
  count: number;
}

/** The command for `op` (paths in the snapshot: Lifeboat's start with the source's name, restic's are absolute). */
function browseCommand(tool: Tool, d: ToolDirs, src: string, op: BrowseOp, file: ManifestFile, snaps: Snapshots, target: string): Command {
  const folder = path.posix.dirname(file.path);
  const name = path.posix.basename(file.path);
  if (tool.name === 'lifeboat') {
    switch (op) {
      case 'ls': return tool.exec(d, 'ls', 'latest', `src/${folder}`);
      case 'find': return tool.exec(d, 'find', name);
      case 'restore': return tool.exec(d, 'restore', 'latest', '--path', `src/${file.path}`, '--target', target);
      case 'diff': return tool.exec(d, 'diff', snaps.first, snaps.last);
    }
  }
  switch (op) {
    case 'ls': return tool.exec(d, 'ls', 'latest', '--host', 'bench', path.join(src, folder));
    case 'find': return tool.exec(d, 'find', name);
    case 'restore': return tool.exec(d, 'restore', 'latest', '--host', 'bench', '--include', path.join(src, file.path), '--target', target);
    case 'diff': return tool.exec(d, 'diff', snaps.first, snaps.last);
  }
}

/** Runs an untimed command; throws with its stderr when it fails. */
async function must(cmd: Command, logBase: string, timeoutS: number, what: string): Promise<string> {
  const m = await runMeasured(cmd, logBase, timeoutS * 1000);
  if (m.code !== 0 || m.timedOut) throw new Error(`${what} failed (${m.timedOut ? 'timed out' : `exit ${m.code}`}): ${tail(m.stderrPath, 2000).trim()}`);
  return fs.readFileSync(m.stdoutPath, 'utf8');
}

/** First and last snapshot ids, from the tool's JSON listing (both list oldest first). */
function parseSnapshots(tool: ToolName, json: string): Snapshots {
  const parsed = JSON.parse(json) as unknown;
  // restic: an array; Lifeboat's --json: { data: [...] }.
  const list = (Array.isArray(parsed) ? parsed : ((parsed as { data?: unknown[] }).data ?? [])) as { id?: string; time?: string }[];
  const sorted = [...list].sort((a, b) => String(a.time ?? '').localeCompare(String(b.time ?? '')));
  const ids = sorted.map((s) => s.id).filter((x): x is string => typeof x === 'string');
  if (ids.length === 0) throw new Error(`${tool}: no snapshot ids in its listing: ${json.slice(0, 300)}`);
  return { first: ids[0] as string, last: ids[ids.length - 1] as string, count: ids.length };
}

/** Every regular file under `root` whose name is `name`. */
function findRestored(root: string, name: string): string[] {
  const out: string[] = [];
  if (!fs.existsSync(root)) return out;
  for (const e of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name === name) out.push(path.join(e.parentPath, e.name));
  }
  return out;
}

// ---------------------------------------------------------------------------

interface BrowseSample {
  tool: ToolName;
  round: number;
  op: BrowseOp;
  ok: boolean;
  wallS: number;
  cpuS: number | null;
  peakRssBytes: number | null;
  otherCpuS: number | null;
  error?: string;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export async function runBrowseBench(argv: string[], deps: BrowseBenchDeps): Promise<number> {
  let opts: BrowseOptions;
  try {
    const o = parseBrowseArgs(argv);
    if (typeof o === 'string') {
      if (o) console.error(`bench: ${o}`);
      console.error(USAGE);
      return o ? 2 : 0;
    }
    opts = o;
  } catch (e) {
    console.error(`bench: ${(e as Error).message}`);
    console.error(USAGE);
    return 2;
  }
  const { tools, src, work } = deps;
  if (tools.length === 0) {
    console.error('bench: no tool to run');
    return 2;
  }
  const started = new Date();
  const ds = await ensureDataset({ spec: opts.small ? SMALL_SPEC : FULL_SPEC, seed: opts.seed, regen: opts.regen, log: (s) => console.log(s) });
  const file = pickFile(ds.manifest.files);
  const cpu = os.cpus();
  const notes = [
    `${os.availableParallelism()} cores (${cpu[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    `dataset: ${describeManifest(ds.manifest).split('\n').join('\n         ')}`,
    ...tools.map((t) => `${t.name}: ${t.version} — ${t.describe}`),
    `${SNAPSHOTS} snapshots per tool (untimed set-up: backup, then ${SNAPSHOTS - 1} × edit in place + backup); ${opts.rounds} timed round(s) per op and tool, order alternating`,
    `ls: ${path.posix.dirname(file.path)}/ in the newest; find: ${path.posix.basename(file.path)} in all; restore: ${file.path} (${file.size} B) from the newest; diff: first → last`,
    'warm page cache and warm tool caches (RESTIC_CACHE_DIR, LIFEBOAT_HOME); wall time = spawn → exit, start-up included',
  ];
  console.log(notes.map((n) => `# ${n}`).join('\n'));

  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const dirs = new Map<ToolName, ToolDirs>();
  for (const t of tools) {
    const root = path.join(work, t.name);
    const d: ToolDirs = { root, repo: path.join(root, 'repo'), state: path.join(root, 'state'), logs: path.join(work, 'logs', t.name), tmp: path.join(root, 'tmp') };
    for (const p of [d.root, d.state, d.logs, d.tmp]) fs.mkdirSync(p, { recursive: true });
    t.prepare(d);
    dirs.set(t.name, d);
  }
  const dirOf = (t: Tool): ToolDirs => dirs.get(t.name) as ToolDirs;

  // Set-up: 10 snapshots of the same trees with each tool.
  const t0 = process.hrtime.bigint();
  copyTree(ds.tree, src);
  const files = new Map(ds.manifest.files.map((f) => [f.path, f.size]));
  for (const t of tools) await must(t.init(dirOf(t)), path.join(dirOf(t).logs, 'init'), opts.timeoutS, `${t.name} init`);
  for (let step = 0; step < SNAPSHOTS; step++) {
    if (step > 0) editStep(src, ds.manifest, files, step, file.path);
    spawnSync('sync', { stdio: 'inherit' });
    warmTree(src);
    for (const t of tools) await must(t.backup(dirOf(t)), path.join(dirOf(t).logs, `backup-${step}`), opts.timeoutS, `${t.name} backup ${step + 1}`);
  }
  console.log(`set-up: ${SNAPSHOTS} snapshots per tool (${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(0)} s)`);
  const snaps = new Map<ToolName, Snapshots>();
  for (const t of tools) {
    const s = parseSnapshots(t.name, await must(t.exec(dirOf(t), 'snapshots', '--json'), path.join(dirOf(t).logs, 'snapshots'), opts.timeoutS, `${t.name} snapshots`));
    if (s.count !== SNAPSHOTS) throw new Error(`${t.name}: ${s.count} snapshots, expected ${SNAPSHOTS}`);
    snaps.set(t.name, s);
  }
  const expected = fs.readFileSync(path.join(src, file.path));

  const samples: BrowseSample[] = [];
  for (let round = 1; round <= opts.rounds; round++) {
    const order = round % 2 === 1 ? tools : [...tools].reverse();
    for (const op of BROWSE_OPS) {
      for (const t of order) {
        const d = dirOf(t);
        const target = path.join(d.root, 'restore');
        fs.rmSync(target, { recursive: true, force: true });
        fs.mkdirSync(target);
        spawnSync('sync', { stdio: 'inherit' });
        if (opts.idleWaitS > 0) await waitForIdle(opts.idleWaitS);
        const cmd = browseCommand(t, d, src, op, file, snaps.get(t.name) as Snapshots, target);
        const m = await runMeasured(cmd, path.join(d.logs, `${op}-${round}`), opts.timeoutS * 1000);
        const s: BrowseSample = { tool: t.name, round, op, ok: m.code === 0 && !m.timedOut, wallS: m.wallMs / 1000, cpuS: m.cpuS, peakRssBytes: m.peakRssBytes, otherCpuS: m.otherCpuS };
        if (!s.ok) s.error = `${m.timedOut ? 'timed out' : `exit ${m.code}`}: ${tail(m.stderrPath, 1000).trim()}`;
        else if (fs.statSync(m.stdoutPath).size === 0 && op !== 'restore') s.error = 'printed nothing';
        else if (op === 'find' && !fs.readFileSync(m.stdoutPath, 'utf8').includes(path.posix.basename(file.path))) s.error = 'the file is not in its output';
        if (s.ok && op === 'restore') {
          const got = findRestored(target, path.posix.basename(file.path));
          if (got.length !== 1) s.error = `restored ${got.length} files named ${path.posix.basename(file.path)} under the target`;
          else if (!fs.readFileSync(got[0] as string).equals(expected)) s.error = `${got[0]} differs from the source`;
        }
        if (s.error) s.ok = false;
        samples.push(s);
        console.log(`  round ${round} ${t.name.padEnd(8)} ${op.padEnd(7)} ${s.ok ? `${s.wallS.toFixed(3)} s` : `FAILED (${s.error})`}`);
      }
    }
  }

  // Summary
  const med = (tool: ToolName, op: BrowseOp, f: (s: BrowseSample) => number | null): number | null =>
    median(samples.filter((s) => s.tool === tool && s.op === op && s.ok).map(f).filter((x): x is number => x !== null));
  const rows = BROWSE_OPS.map((op) => {
    const l = med('lifeboat', op, (s) => s.wallS);
    const r = med('restic', op, (s) => s.wallS);
    return { op, lifeboatS: l, resticS: r, ratio: l !== null && r !== null && r > 0 ? l / r : null, lifeboatCpuS: med('lifeboat', op, (s) => s.cpuS), resticCpuS: med('restic', op, (s) => s.cpuS), lifeboatRssMB: (med('lifeboat', op, (s) => s.peakRssBytes) ?? 0) / 1e6, resticRssMB: (med('restic', op, (s) => s.peakRssBytes) ?? 0) / 1e6 };
  });
  const f = (n: number | null, d = 3): string => (n === null ? '-' : n.toFixed(d));
  const head = ['op', 'lifeboat s', 'restic s', 'L/R', 'lifeboat CPU s', 'restic CPU s', 'lifeboat RSS MB', 'restic RSS MB'];
  const lines = rows.map((r) => [r.op, f(r.lifeboatS), f(r.resticS), r.ratio === null ? '-' : `${r.ratio.toFixed(2)}×`, f(r.lifeboatCpuS, 2), f(r.resticCpuS, 2), f(r.lifeboatRssMB, 0), f(r.resticRssMB, 0)]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  console.log('');
  console.log(`medians of ${opts.rounds} round(s); ${SNAPSHOTS} snapshots of ${ds.manifest.spec.label} dataset (${ds.manifest.files.length} files, ${(ds.manifest.totalBytes / 1e6).toFixed(1)} MB base)`);
  console.log([fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(fmt)].join('\n'));
  const restoreL = rows.find((r) => r.op === 'restore')?.lifeboatS ?? null;
  if (restoreL !== null) console.log(`one-file restore (${file.size} B), Lifeboat, start-up included: ${restoreL.toFixed(3)} s (target < 1 s: ${restoreL < 1 ? 'met' : 'NOT met'})`);
  const failures = samples.filter((s) => !s.ok);
  for (const x of failures) console.log(`FAILED ${x.tool} ${x.op} round ${x.round}: ${(x.error ?? '').replace(/\s+/g, ' ').slice(0, 300)}`);

  const out = path.join(DATA_DIR, `results-browse-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(out, JSON.stringify({ startedAt: started.toISOString(), finishedAt: new Date().toISOString(), options: opts, notes, file, snapshots: Object.fromEntries(snaps), summary: rows, samples }, null, 2) + '\n');
  console.log(`results: ${path.relative(process.cwd(), out)}`);
  if (!opts.keep) fs.rmSync(work, { recursive: true, force: true });
  return failures.length ? 1 : 0;
}
