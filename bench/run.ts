/**
 * `npm run bench`: Lifeboat against restic on the same generated data, same run,
 * alternating which tool goes first each round.
 *
 *   npm run bench -- [--rounds N] [--only lifeboat|restic] [--ops first,nochange,edit,restore,check]
 *                    [--dataset mixed|tree|both] [--tree-files N]
 *                    [--small] [--regen] [--seed N] [--timeout SECONDS] [--keep] [--no-verify]
 *   npm run bench -- --s3 [--s3-tls] [--only lifeboat|restic|rclone] [--rounds N] [--small] ...
 *   npm run bench -- --browse [--small] [--rounds N]
 *   npm run bench -- --store [--iterations N] [--budget S] [--scale F] [--only postgres|json] [--keep]
 *   npm run bench -- --fleet [--fleet-minutes N] [--fleet-agents N] [--fleet-runbooks-per-agent N] [--keep]
 *
 * See bench/README.md for what is measured and how.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DATA_DIR,
  DEFAULT_SEED,
  FULL_SPEC,
  SMALL_SPEC,
  TREE_FILES,
  applyEdit,
  copyTree,
  describeManifest,
  ensureDataset,
  treeSpec,
  type Dataset,
  type EditSummary,
} from './dataset.js';
import { rssMethod, runMeasured, tail, waitForIdle, type Command, type Measured } from './measure.js';
import { parseOrUsage, UsageError } from './bench-args.js';
import { runBrowseBench } from './browse.js';
import { runFleetBench } from './fleet.js';
import { describeRealTree, realTree } from './real-tree.js';
import { runS3Bench } from './s3.js';
import { runStoreBench } from './store.js';
import { trashBeside, waitOutDeletions, type Trash } from './discard.js';
import { cpuSpreadWarnings, userCpuRange } from './cpu-spread.js';
import { dropCachesProblem, lifeboatFiles, settleCaches } from './settle-caches.js';
import { describePrefix, lifeboatCommand } from './lifeboat-command.js';
import { REMOVING } from '../src/core/drill/discard-scratch.js';
import { compare, describeComparison, fingerprint, treeBytes, warmTree, type Comparison } from './tree-compare.js';

const REPO_ROOT = path.resolve(DATA_DIR, '..', '..');
// LIFEBOAT_BENCH_WORK: a scratch folder of one's own (every bench clears its work folder first).
const WORK = process.env.LIFEBOAT_BENCH_WORK ? path.resolve(process.env.LIFEBOAT_BENCH_WORK) : path.join(DATA_DIR, 'work');
const SRC = path.join(WORK, 'src');
/**
 * LIFEBOAT_BENCH_STATE_APART=DIR (off by default): Lifeboat's state folder (LIFEBOAT_HOME, where
 * restore-drill makes and deletes its scratch copy) in DIR, not beside its restore targets under WORK.
 * On ext4 without a journal a restore made next to a just-deleted 20k-file tree pays seconds of kernel
 * time, and only Lifeboat's drill deletes one (restic's plain restore does not): with DIR under another
 * top-level folder the restore and drill rows measure the operations, not that (docs/performance.md,
 * eighth stop). A change of method, so not the default.
 */
const STATE_APART = process.env.LIFEBOAT_BENCH_STATE_APART ? path.resolve(process.env.LIFEBOAT_BENCH_STATE_APART) : undefined;
const PASSWORD = 'lifeboat-bench-password';

/** `drill` (with --drill): Lifeboat's restore-drill, against restic's plain restore of the same snapshot. */
const OPS = ['first', 'nochange', 'edit', 'restore', 'check', 'drill'] as const;
const DEFAULT_OPS: Op[] = ['first', 'nochange', 'edit', 'restore', 'check'];
type Op = (typeof OPS)[number];
/**
 * The mixed tree (20k files and 20 large ones) gets every op; the small-file tree
 * (bench/dataset.ts treeSpec) the ones whose cost is per file: backups and restore.
 * It is not edited: its restore is of the first backup's tree.
 */
const DATASETS = ['mixed', 'tree'] as const;
/** `source`: the tree given with --source DIR (bench/real-tree.ts): every op but the edit. */
type DatasetName = (typeof DATASETS)[number] | 'source';
const TREE_OPS: readonly Op[] = ['first', 'nochange', 'restore'];
const SOURCE_OPS: readonly Op[] = ['first', 'nochange', 'restore', 'check', 'drill'];
const datasetLabel = (name: DatasetName): string => (name === 'tree' ? 'small-file tree' : name === 'source' ? 'real tree' : 'mixed dataset');
/** --small: the small-file tree at a tenth of its size. */
const SMALL_TREE_FILES = 5_000;
export type ToolName = 'lifeboat' | 'restic';
const TOOLS: ToolName[] = ['lifeboat', 'restic'];

// ---------------------------------------------------------------------------
// Tools

export interface ToolDirs {
  /** This tool's scratch folder for one round. */
  root: string;
  repo: string;
  /** LIFEBOAT_HOME / RESTIC_CACHE_DIR. */
  state: string;
  logs: string;
  tmp: string;
}

export interface Tool {
  name: ToolName;
  version: string;
  /** How it is invoked, for the report. */
  describe: string;
  /** Untimed set-up before init (e.g. write the runbook). */
  prepare(d: ToolDirs): void;
  init(d: ToolDirs): Command;
  backup(d: ToolDirs): Command;
  restore(d: ToolDirs, target: string): Command;
  check(d: ToolDirs): Command;
  /** A timed, validated restore: Lifeboat's restore-drill; restic has none, so its plain restore. */
  drill(d: ToolDirs, target: string): Command;
  /** Where, under `target`, the restored copy of SRC is. */
  restoredRoot(target: string): string;
  /** Any other subcommand (Lifeboat's get the runbook as their first argument), for --browse. */
  exec(d: ToolDirs, subcommand: string, ...args: string[]): Command;
  /** The tool's own files (executable, code), read back after --drop-caches like the op's inputs. */
  files: string[];
}

function baseEnv(d: ToolDirs): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  env.TMPDIR = d.tmp;
  return env;
}

/**
 * Lifeboat through its CLI. The contract it is coded against (adjust here):
 * `bin/lifeboat.js init|backup <runbook>`, `restore <runbook> latest --target DIR`,
 * `check <runbook> --read-data`, with LIFEBOAT_HOME and LIFEBOAT_PASSWORD in the
 * environment. LIFEBOAT_BENCH_CMD overrides the `bin/lifeboat.js` prefix.
 */
function lifeboatTool(): Tool | string {
  const { prefix, version, missing } = lifeboatCommand(REPO_ROOT);
  if (missing !== undefined) return missing;
  // The runbook's name must match its file name.
  const runbook = (d: ToolDirs): string => path.join(d.root, 'bench.yaml');
  const cmd = (d: ToolDirs, ...args: string[]): Command => ({
    argv: [...prefix, ...args],
    cwd: REPO_ROOT,
    env: { ...baseEnv(d), LIFEBOAT_HOME: d.state, LIFEBOAT_PASSWORD: PASSWORD },
  });
  return {
    name: 'lifeboat',
    version: `git ${version}`,
    describe: `${describePrefix(prefix, REPO_ROOT)} <cmd> bench.yaml`,
    prepare(d) {
      const yaml = [
        'name: bench',
        'sources:',
        '  - name: src',
        `    path: ${JSON.stringify(SRC)}`,
        'repository:',
        `  hot: { url: ${JSON.stringify('file://' + d.repo)} }`,
        '  password: { env: LIFEBOAT_PASSWORD }',
        'objectives: { rpo: 26h, rto: 15m }',
        '',
      ].join('\n');
      fs.writeFileSync(runbook(d), yaml);
    },
    init: (d) => cmd(d, 'init', runbook(d)),
    backup: (d) => cmd(d, 'backup', runbook(d)),
    restore: (d, target) => cmd(d, 'restore', runbook(d), 'latest', '--target', target),
    check: (d) => cmd(d, 'check', runbook(d), '--read-data'),
    drill: (d) => cmd(d, 'restore-drill', runbook(d)),
    exec: (d, sub, ...args) => cmd(d, sub, runbook(d), ...args),
    restoredRoot(target) {
      // Not fixed by the contract yet: restic-style full path, the source's name, or the target itself.
      // A top-level symlink may dangle (the small-file tree has some): look for a folder or file.
      const first = fs.readdirSync(SRC, { withFileTypes: true }).find((e) => !e.isSymbolicLink())?.name ?? '';
      const candidates = [path.join(target, SRC), path.join(target, 'src'), target];
      return candidates.find((c) => fs.existsSync(path.join(c, first))) ?? target;
    },
    // node, the CLI script, the build beside it (dist/) and the native zstd binding.
    files: lifeboatFiles(prefix, REPO_ROOT, ['zstd-napi']),
  };
}

function which(exe: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = path.join(dir, exe);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/**
 * restic with its defaults (repository format 2 from `init` in 0.14, compression
 * auto). Its parent snapshot is found by host + paths, hence the fixed --host.
 */
function resticTool(): Tool | string {
  const exe = which('restic');
  if (!exe) return 'restic not on PATH';
  const version = execFileSync(exe, ['version'], { encoding: 'utf8' }).trim();
  const cmd = (d: ToolDirs, ...args: string[]): Command => ({
    argv: [exe, ...args, '--repo', d.repo],
    cwd: d.root,
    env: { ...baseEnv(d), RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: d.state },
  });
  return {
    name: 'restic',
    version,
    describe: `${exe} <cmd> --repo DIR (RESTIC_CACHE_DIR in the bench folder)`,
    prepare: () => undefined,
    init: (d) => cmd(d, 'init'),
    backup: (d) => cmd(d, 'backup', '--host', 'bench', SRC),
    restore: (d, target) => cmd(d, 'restore', 'latest', '--host', 'bench', '--target', target),
    drill: (d, target) => cmd(d, 'restore', 'latest', '--host', 'bench', '--target', target),
    check: (d) => cmd(d, 'check', '--read-data'),
    restoredRoot: (target) => path.join(target, SRC),
    exec: (d, sub, ...args) => cmd(d, sub, ...args),
    files: [exe],
  };
}

// ---------------------------------------------------------------------------
// Options

interface Options {
  rounds: number;
  only?: ToolName | 'rclone';
  ops: Set<Op>;
  datasets: DatasetName[];
  /** Files in the small-file tree (--tree-files; default TREE_FILES, or SMALL_TREE_FILES with --small). */
  treeFiles?: number;
  /** --source DIR: bench this existing tree instead of the generated datasets. */
  source?: string;
  small: boolean;
  regen: boolean;
  seed: number;
  timeoutS: number;
  keep: boolean;
  verify: boolean;
  idleWaitS: number;
  /**
   * Before each timed op: sync, drop the kernel's caches, read the op's inputs back (bench/settle-caches.ts).
   * Undefined: wherever it can be done (root), said in the report either way.
   */
  dropCaches: boolean | undefined;
  /** Upload throughput to s3rver, Lifeboat against rclone (bench/s3.ts) instead of the local comparison. */
  s3: boolean;
  s3Tls: boolean;
}


function parseArgs(argv: string[]): Options {
  const o: Options = {
    rounds: 3,
    ops: new Set(DEFAULT_OPS),
    datasets: [...DATASETS],
    small: false,
    regen: false,
    seed: DEFAULT_SEED,
    timeoutS: 1800,
    keep: false,
    verify: true,
    idleWaitS: 60,
    dropCaches: undefined,
    s3: false,
    s3Tls: false,
  };
  let opsGiven = false;
  let datasetGiven = false;
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  const int = (s: string, flag: string, min: number): number => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} wants an integer ≥ ${min}, got "${s}"`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const val = (): string => {
      if (inline !== undefined) return inline;
      const v = value(i, flag);
      i++;
      return v;
    };
    switch (flag) {
      case '--rounds':
        o.rounds = int(val(), flag, 1);
        break;
      case '--only': {
        const v = val();
        if (v !== 'lifeboat' && v !== 'restic' && v !== 'rclone') throw new UsageError(`--only wants lifeboat, restic or (with --s3) rclone, got "${v}"`);
        o.only = v;
        break;
      }
      case '--ops': {
        const list = val().split(',').map((s) => s.trim()).filter(Boolean);
        const bad = list.filter((s) => !(OPS as readonly string[]).includes(s));
        if (bad.length || list.length === 0) throw new UsageError(`--ops wants a list of ${OPS.join(',')}, got "${bad.join(',')}"`);
        o.ops = new Set(list as Op[]);
        opsGiven = true;
        break;
      }
      case '--dataset': {
        const v = val();
        if (v !== 'both' && !(DATASETS as readonly string[]).includes(v)) throw new UsageError(`--dataset wants mixed, tree or both, got "${v}"`);
        o.datasets = v === 'both' ? [...DATASETS] : [v as DatasetName];
        datasetGiven = true;
        break;
      }
      case '--tree-files':
        o.treeFiles = int(val(), flag, 1);
        datasetGiven = true;
        break;
      case '--source':
        o.source = val();
        break;
      case '--small':
        o.small = true;
        break;
      case '--regen':
        o.regen = true;
        break;
      case '--seed':
        o.seed = int(val(), flag, 0);
        break;
      case '--timeout':
        o.timeoutS = int(val(), flag, 1);
        break;
      case '--idle-wait':
        o.idleWaitS = int(val(), flag, 0);
        break;
      case '--keep':
        o.keep = true;
        break;
      case '--drop-caches':
        o.dropCaches = true;
        break;
      case '--no-drop-caches':
        o.dropCaches = false;
        break;
      case '--no-verify':
        o.verify = false;
        break;
      case '--drill':
        o.ops.add('drill');
        break;
      case '--s3':
        o.s3 = true;
        break;
      case '--s3-tls':
        o.s3Tls = true;
        break;
      case '--help':
      case '-h':
        throw new UsageError('');
      default:
        throw new UsageError(`unknown option "${a}"`);
    }
  }
  if (o.s3Tls && !o.s3) throw new UsageError('--s3-tls goes with --s3');
  if (o.s3 && datasetGiven) throw new UsageError('--dataset and --tree-files do not apply to --s3 (it uploads the mixed dataset)');
  if (o.source !== undefined && (datasetGiven || o.small || o.s3)) throw new UsageError('--source replaces the generated datasets: leave out --dataset, --tree-files, --small and --s3');
  if (o.source !== undefined) o.datasets = ['source'];
  if (o.s3 && opsGiven) throw new UsageError('--ops does not apply to --s3 (it times a first backup and a full restore of the dataset per tool and round)');
  if (!o.s3 && o.only === 'rclone') throw new UsageError('rclone is compared only with --s3');
  return o;
}

const USAGE = `usage: npm run bench -- [options]
  --rounds N           rounds per tool, alternating which tool goes first (default 3)
  --only TOOL          lifeboat or restic (with --s3: lifeboat, restic or rclone)
  --ops LIST           subset of first,nochange,edit,restore,check (default all; the
                       backups that a later op needs still run, untimed)
  --drill              also time Lifeboat's restore-drill (restore + validation) against
                       restic's restore of the same data
  --dataset WHICH      mixed (20k files + 20 large ones: every op), tree (the small-file
                       tree: ${TREE_FILES.toLocaleString('en')} files mostly < 8 KiB, symlinks, deep folders: first,
                       nochange and restore) or both (default)
  --tree-files N       files in the small-file tree (default ${TREE_FILES}; ${SMALL_TREE_FILES} with --small)
  --source DIR         instead of the generated datasets: an existing tree (e.g. /usr/share), only
                       read (copied into the bench's folder each round): first, nochange,
                       restore, check (and --drill); no edit
  --small              ~90 MB mixed dataset (2,000 small files, 4 large) and a ${SMALL_TREE_FILES}-file tree,
                       for a quick try
  --regen              regenerate the cached dataset
  --seed N             dataset seed (default ${DEFAULT_SEED})
  --timeout SECONDS    per operation (default 1800)
  --idle-wait SECONDS  before each timed op, wait up to this long for other processes to
                       use < 0.3 CPU (default 60; 0 = don't wait)
  --drop-caches        before each timed op: sync, drop the kernel's page, inode and dentry
                       caches (/proc/sys/vm/drop_caches), then read the op's inputs (source
                       tree, repository, state) and the tools' own files back: every op starts
                       from the same warm cache, whatever the ops before it freed (see
                       bench/README.md). The default where it can be done (root); an error
                       when asked for and it cannot
  --no-drop-caches     do not (the report then warns that rounds may swing)
  --keep               keep the last round's repositories and restores under bench/.data/work
                       (LIFEBOAT_BENCH_WORK=DIR: use DIR instead, to bench beside someone else)
  --no-verify          skip comparing restores with their source
  --s3                 instead: first backup and full restore through s3rver on loopback (a
                       child process), Lifeboat against restic and \`rclone copy\` of the same
                       tree (each when on PATH); honours --rounds, --only, --small, --regen,
                       --seed, --timeout, --idle-wait, --keep, --no-verify, --drop-caches
  --s3-tls             with --s3: serve s3rver over https with a self-signed certificate
                       (needed for a fair restic comparison)
  --browse             instead: ls, find, a one-file restore and diff on 10 snapshots, against
                       restic's (bench/browse.ts; \`npm run bench -- --browse --help\`)
  --store              instead: the state store's reads (status, history, alerts, /metrics) on
                       PostgreSQL with 1,000,000 runs and on the JSON file at its limits
                       (bench/store.ts; \`npm run bench -- --store --help\` for its options)
  --fleet              instead: one serve dispatching scheduled backups to 20 agents × 25 runbooks on
                       PostgreSQL for 10 minutes (bench/fleet.ts; \`npm run bench -- --fleet --help\`)`;

// ---------------------------------------------------------------------------
// Running

interface Sample {
  dataset: DatasetName;
  tool: ToolName;
  round: number;
  op: Op | 'init';
  timed: boolean;
  ok: boolean;
  error?: string;
  wallS: number;
  peakRssBytes: number | null;
  cpuS: number | null;
  userS: number | null;
  otherCpuS: number | null;
  loadAvg1: number;
  /** Bytes of the tree the op reads or writes (MB/s = this / wallS). */
  datasetBytes: number;
  /** Repository bytes after the op (backups and init). */
  storedBytes?: number;
  storedFiles?: number;
  /** RESTIC_CACHE_DIR / LIFEBOAT_HOME bytes after the op. */
  stateBytes?: number;
  verify?: Comparison;
}

const mb = (n: number): string => (n / 1e6).toFixed(1);

function sync(): void {
  spawnSync('sync', { stdio: 'inherit' });
}

/** Set for a backup bench run: the trees it is done with wait there until the run ends (bench/discard.ts). */
let trash: Trash | undefined;

function rm(p: string): void {
  if (trash) trash.discard(p);
  else fs.rmSync(p, { recursive: true, force: true });
}

async function runOp(
  tool: Tool,
  d: ToolDirs,
  round: number,
  op: Sample['op'],
  timed: boolean,
  cmd: Command,
  datasetBytes: number,
  opts: Options & { dataset: DatasetName },
): Promise<Sample> {
  const { timeoutS, idleWaitS } = opts;
  sync(); // nothing of the previous step left to write back during this one
  if (timed && opts.dropCaches) settleCaches([SRC, d.repo, d.state, ...tool.files]);
  let waited = '';
  if (timed && idleWaitS > 0) {
    const w = await waitForIdle(idleWaitS);
    if (w.waitedS > 1.5) waited = ` (waited ${w.waitedS.toFixed(0)} s for other processes${w.busyCores !== null && w.busyCores >= 0.3 ? `, still ${w.busyCores.toFixed(1)} cores busy` : ''})`;
  }
  const m: Measured = await runMeasured(cmd, path.join(d.logs, `${op}`), timeoutS * 1000);
  const ok = m.code === 0 && !m.timedOut;
  const s: Sample = {
    dataset: opts.dataset,
    tool: tool.name,
    round,
    op,
    timed,
    ok,
    wallS: m.wallMs / 1000,
    peakRssBytes: m.peakRssBytes,
    cpuS: m.cpuS,
    userS: m.userS,
    otherCpuS: m.otherCpuS,
    loadAvg1: m.loadAvg1,
    datasetBytes,
  };
  if (!ok) {
    const why = m.timedOut ? `timed out after ${timeoutS} s` : m.signal ? `killed by ${m.signal}` : `exit code ${m.code}`;
    s.error = `${why}: ${tail(m.stderrPath, 2000).trim() || tail(m.stdoutPath, 2000).trim()}`;
  }
  if (op === 'init' || op === 'first' || op === 'nochange' || op === 'edit') {
    const t = treeBytes(d.repo);
    s.storedBytes = t.bytes;
    s.storedFiles = t.files;
    s.stateBytes = treeBytes(d.state).bytes;
  }
  const label = `  ${tool.name.padEnd(8)} ${op.padEnd(8)}${timed ? '' : ' (untimed)'}${waited}`;
  if (ok) {
    const parts = [
      `${s.wallS.toFixed(2)} s`,
      datasetBytes > 0 ? `${(datasetBytes / 1e6 / s.wallS).toFixed(1)} MB/s` : '',
      s.cpuS !== null ? `CPU ${s.cpuS.toFixed(1)} s${s.userS !== null ? ` (user ${s.userS.toFixed(1)})` : ''}` : '',
      s.peakRssBytes !== null ? `RSS ${mb(s.peakRssBytes)} MB` : '',
      s.storedBytes !== undefined ? `stored ${mb(s.storedBytes)} MB` : '',
      s.otherCpuS !== null && s.otherCpuS > 0.1 * s.wallS ? `(other processes: ${s.otherCpuS.toFixed(1)} CPU s${isNoisy(s) ? ', NOISY' : ''})` : '',
    ];
    console.log(`${label} ${parts.filter(Boolean).join(', ')}`);
  } else {
    console.log(`${label} FAILED (${s.error})`);
  }
  return s;
}

interface RoundContext {
  name: DatasetName;
  ds: Dataset;
  /** The ops timed on this dataset. */
  ops: Set<Op>;
  opts: Options;
  samples: Sample[];
  edit?: EditSummary;
}

/** One tool, one round: fresh repository, then first → nochange → edit → restore → check. */
async function runSequence(tool: Tool, round: number, ctx: RoundContext): Promise<void> {
  const { ds, opts } = ctx;
  const root = path.join(WORK, tool.name);
  const d: ToolDirs = {
    root,
    repo: path.join(root, 'repo'),
    state: tool.name === 'lifeboat' && STATE_APART !== undefined ? path.join(STATE_APART, 'lifeboat-state') : path.join(root, 'state'),
    logs: path.join(WORK, 'logs', tool.name, `round-${round}`),
    tmp: path.join(root, 'tmp'),
  };
  rm(SRC);
  rm(root);
  rm(d.state);
  for (const p of [d.root, d.state, d.logs, d.tmp]) fs.mkdirSync(p, { recursive: true });

  // Untimed: the base tree at SRC (cp -a keeps mtimes; new inodes), read once so
  // every tool starts on a warm page cache.
  copyTree(ds.tree, SRC);
  sync();
  warmTree(SRC);
  tool.prepare(d);

  try {
    await timedSteps(tool, d, round, ctx);
  } finally {
    cleanup(d, opts, round);
  }
}

async function timedSteps(tool: Tool, d: ToolDirs, round: number, ctx: RoundContext): Promise<void> {
  const { ds } = ctx;
  const opts = { ...ctx.opts, dataset: ctx.name };
  const want = ctx.ops;
  const editable = ctx.name === 'mixed';
  const needEdit = editable && (want.has('edit') || want.has('restore') || want.has('check') || want.has('drill'));
  const push = (s: Sample): boolean => {
    ctx.samples.push(s);
    return s.ok;
  };
  const base = ds.manifest.totalBytes;
  if (!editable) {
    if (!push(await runOp(tool, d, round, 'init', false, tool.init(d), 0, opts))) return;
    if (!push(await runOp(tool, d, round, 'first', want.has('first'), tool.backup(d), base, opts))) return;
    if (want.has('nochange')) push(await runOp(tool, d, round, 'nochange', true, tool.backup(d), base, opts));
    if (want.has('restore')) await timedRestore(tool, d, round, base, opts, push);
    if (want.has('check')) push(await runOp(tool, d, round, 'check', true, tool.check(d), base, opts));
    if (want.has('drill')) await timedDrill(tool, d, round, base, opts, push);
    return;
  }
  if (!push(await runOp(tool, d, round, 'init', false, tool.init(d), 0, opts))) return;
  if (!push(await runOp(tool, d, round, 'first', want.has('first'), tool.backup(d), base, opts))) return;
  if (want.has('nochange')) push(await runOp(tool, d, round, 'nochange', true, tool.backup(d), base, opts));
  if (!needEdit) return;

  // Untimed: the edit, in place, so untouched files keep inode, size and mtime.
  const edit = applyEdit(SRC, ds.manifest);
  ctx.edit = edit;
  sync();
  warmTree(SRC);
  const edited = edit.totalBytes;
  if (!push(await runOp(tool, d, round, 'edit', want.has('edit'), tool.backup(d), edited, opts))) return;

  if (want.has('restore')) await timedRestore(tool, d, round, edited, opts, push);
  if (want.has('check')) push(await runOp(tool, d, round, 'check', true, tool.check(d), edited, opts));
  if (want.has('drill')) await timedDrill(tool, d, round, edited, opts, push);
}

/** Lifeboat's restore-drill, restic's plain restore into a fresh folder. */
async function timedDrill(tool: Tool, d: ToolDirs, round: number, bytes: number, opts: Options & { dataset: DatasetName }, push: (s: Sample) => boolean): Promise<void> {
  const target = path.join(d.root, 'drill');
  rm(target);
  push(await runOp(tool, d, round, 'drill', true, tool.drill(d, target), bytes, opts));
  rm(target);
  await discardsRemoved(d.state);
}

/**
 * A drill's command ends with its scratch restore moved aside and an `rm` still
 * removing it (src/core/drill/discard-scratch.ts): the next timed op, whichever
 * tool's, starts only once that is done (untimed), so it never shares the
 * machine with the removal.
 */
async function discardsRemoved(home: string): Promise<void> {
  const removing = path.join(home, 'scratch', REMOVING);
  const left = (): number => (fs.existsSync(removing) ? fs.readdirSync(removing).length : 0);
  for (const deadline = Date.now() + 120_000; left() > 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
  if (left() > 0) console.log(`# WARNING: ${removing} still holds a drill's restore after 120 s; the next op shares the machine with its removal`);
}

/** Restore the latest snapshot into a fresh folder and (unless --no-verify) compare it with SRC. */
async function timedRestore(tool: Tool, d: ToolDirs, round: number, bytes: number, opts: Options & { dataset: DatasetName }, push: (s: Sample) => boolean): Promise<void> {
  const target = path.join(d.root, 'restore');
  rm(target);
  const s = await runOp(tool, d, round, 'restore', true, tool.restore(d, target), bytes, opts);
  if (s.ok && opts.verify) {
    const restored = tool.restoredRoot(target);
    s.verify = compare(fingerprint(SRC), fingerprint(restored));
    console.log(`  ${''.padEnd(17)} verify: ${describeComparison(s.verify)} [${path.relative(target, restored) || '.'}]`);
    if (!s.verify.ok) {
      s.ok = false;
      s.error = 'restored tree differs from the source';
    }
  }
  push(s);
  rm(target);
}

function cleanup(d: ToolDirs, opts: Options, round: number): void {
  if (opts.keep && round === opts.rounds) return;
  rm(d.repo);
  rm(d.state);
  rm(d.tmp);
  rm(SRC);
  sync();
}

// ---------------------------------------------------------------------------
// Summary

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

interface Row {
  op: Op;
  tool: ToolName;
  ok: number;
  runs: number;
  timeS: number | null;
  mbPerS: number | null;
  cpuS: number | null;
  userS: number | null;
  peakRssMB: number | null;
  storedMB: number | null;
  otherCpuS: number | null;
  minTimeS: number | null;
  maxTimeS: number | null;
  /** The least and most user CPU one round of the op took (the same work every round). */
  minUserS: number | null;
  maxUserS: number | null;
  /** Samples during which other processes used more than NOISY_CORES on average. */
  noisy: number;
}

const NOISY_CORES = 0.25;
const isNoisy = (s: Sample): boolean => s.otherCpuS !== null && s.otherCpuS > NOISY_CORES * s.wallS;

function summarize(samples: Sample[], tools: ToolName[], ops: Op[]): Row[] {
  const rows: Row[] = [];
  for (const op of ops) {
    for (const tool of tools) {
      const all = samples.filter((s) => s.tool === tool && s.op === op && s.timed);
      if (all.length === 0) continue;
      const ok = all.filter((s) => s.ok);
      const nums = (f: (s: Sample) => number | null | undefined): number[] =>
        ok.map(f).filter((x): x is number => typeof x === 'number');
      const timeS = median(nums((s) => s.wallS));
      const bytes = median(nums((s) => s.datasetBytes));
      const times = nums((s) => s.wallS);
      const users = nums((s) => s.userS);
      const rss = median(nums((s) => s.peakRssBytes));
      const stored = median(nums((s) => s.storedBytes));
      rows.push({
        op,
        tool,
        ok: ok.length,
        runs: all.length,
        timeS,
        mbPerS: timeS && bytes ? bytes / 1e6 / timeS : null,
        cpuS: median(nums((s) => s.cpuS)),
        userS: median(nums((s) => s.userS)),
        peakRssMB: rss === null ? null : rss / 1e6,
        storedMB: stored === null ? null : stored / 1e6,
        otherCpuS: median(nums((s) => s.otherCpuS)),
        minTimeS: times.length ? Math.min(...times) : null,
        maxTimeS: times.length ? Math.max(...times) : null,
        ...userCpuRange(users),
        noisy: ok.filter(isNoisy).length,
      });
    }
  }
  return rows;
}

function table(rows: Row[]): string {
  const head = ['op', 'tool', 'time s', 'min–max s', 'MB/s', 'CPU s', 'user s', 'peak RSS MB', 'stored MB', 'other CPU s', 'noisy', 'ok'];
  const f = (n: number | null, digits: number): string => (n === null ? '-' : n.toFixed(digits));
  const ratio = (a: number | null, b: number | null): string => (a === null || b === null || b === 0 ? '-' : `${(a / b).toFixed(2)}×`);
  const lines: string[][] = [];
  const ops = [...new Set(rows.map((r) => r.op))];
  for (const op of ops) {
    const rs = rows.filter((r) => r.op === op);
    for (const r of rs) {
      lines.push([
        op,
        r.tool,
        f(r.timeS, 2),
        r.minTimeS === null ? '-' : `${r.minTimeS.toFixed(2)}–${(r.maxTimeS as number).toFixed(2)}`,
        f(r.mbPerS, 1),
        f(r.cpuS, 1),
        f(r.userS, 1),
        f(r.peakRssMB, 1),
        f(r.storedMB, 1),
        f(r.otherCpuS, 1),
        String(r.noisy),
        `${r.ok}/${r.runs}`,
      ]);
    }
    const l = rs.find((r) => r.tool === 'lifeboat');
    const r = rs.find((x) => x.tool === 'restic');
    if (l && r) {
      lines.push([
        '',
        'L/R',
        ratio(l.timeS, r.timeS),
        '',
        '',
        ratio(l.cpuS, r.cpuS),
        ratio(l.userS, r.userS),
        ratio(l.peakRssMB, r.peakRssMB),
        ratio(l.storedMB, r.storedMB),
        '',
        '',
        '',
      ]);
    }
  }
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: string[]): string =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ').trimEnd();
  const out = [fmt(head), widths.map((w) => '-'.repeat(w)).join('  ')];
  let prevOp = '';
  for (const l of lines) {
    if (l[0] && prevOp && l[0] !== prevOp) out.push('');
    if (l[0]) prevOp = l[0];
    out.push(fmt(l));
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  // The store bench (bench/store.ts) times reads of the state store, not backups: its own options.
  if (argv.includes('--store')) return runStoreBench(argv.filter((a) => a !== '--store'));
  // The fleet bench (bench/fleet.ts): PostgreSQL, one serve and many agents dispatching scheduled backups.
  if (argv.includes('--fleet')) return runFleetBench(argv.filter((a) => a !== '--fleet'));
  // Browsing 10 snapshots (bench/browse.ts): ls, find, one-file restore, diff.
  if (argv.includes('--browse')) {
    const tools = [lifeboatTool(), resticTool()].filter((t): t is Tool => typeof t !== 'string');
    return runBrowseBench(argv.filter((a) => a !== '--browse'), { tools, src: SRC, work: WORK, repoRoot: REPO_ROOT });
  }
  const opts = parseOrUsage(parseArgs, argv, USAGE);
  if (typeof opts === 'number') return opts;
  const cannotDrop = opts.dropCaches === false ? undefined : dropCachesProblem();
  if (cannotDrop && opts.dropCaches === true) {
    console.error(`bench: ${cannotDrop}`);
    return 2;
  }
  // Settled wherever it can be (root); otherwise the report warns that rounds may swing.
  opts.dropCaches ??= cannotDrop === undefined;
  if (opts.s3) {
    return runS3Bench({
      rounds: opts.rounds,
      only: opts.only,
      small: opts.small,
      regen: opts.regen,
      seed: opts.seed,
      timeoutS: opts.timeoutS,
      idleWaitS: opts.idleWaitS,
      keep: opts.keep,
      verify: opts.verify,
      tls: opts.s3Tls,
      dropCaches: opts.dropCaches,
    });
  }

  const found: Tool[] = [];
  for (const make of [lifeboatTool, resticTool]) {
    const t = make();
    const name = make === lifeboatTool ? 'lifeboat' : 'restic';
    if (opts.only && opts.only !== name) continue;
    if (typeof t === 'string') console.log(`skipping ${name}: ${t}`);
    else found.push(t);
  }
  if (found.length === 0) {
    console.error('bench: no tool to run');
    return 2;
  }

  const started = new Date();
  const datasets: { name: DatasetName; ds: Dataset; ops: Op[] }[] = [];
  for (const name of opts.datasets) {
    if (name === 'source') {
      const ds = realTree(opts.source as string);
      datasets.push({ name, ds, ops: OPS.filter((o) => opts.ops.has(o) && SOURCE_OPS.includes(o)) });
      continue;
    }
    const spec = name === 'tree' ? treeSpec(opts.treeFiles ?? (opts.small ? SMALL_TREE_FILES : TREE_FILES)) : opts.small ? SMALL_SPEC : FULL_SPEC;
    const ops = OPS.filter((o) => opts.ops.has(o) && (name === 'mixed' || TREE_OPS.includes(o)));
    if (ops.length === 0) {
      console.log(`skipping the ${datasetLabel(name)}: none of --ops ${[...opts.ops].join(',')} is timed on it (${TREE_OPS.join(', ')})`);
      continue;
    }
    datasets.push({ name, ds: await ensureDataset({ spec, seed: opts.seed, regen: opts.regen, log: (s) => console.log(s) }), ops });
  }
  if (datasets.length === 0) {
    console.error('bench: no dataset to run');
    return 2;
  }
  const cpu = os.cpus();
  const method = rssMethod();
  const notes = [
    `${os.availableParallelism()} cores (${cpu[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    ...datasets.flatMap(({ name, ds, ops }) => [
      `dataset ${name}: ${(name === 'source' ? describeRealTree(ds.tree, ds.manifest) : describeManifest(ds.manifest)).split('\n').join('\n         ')}`,
      name === 'source'
        ? `         walked in ${(ds.manifest.generatedInMs / 1000).toFixed(1)} s; ops: ${ops.join(', ')}`
        : `         ${ds.generated ? 'generated now' : 'cached'}, generation took ${(ds.manifest.generatedInMs / 1000).toFixed(1)} s; ops: ${ops.join(', ')}`,
    ]),
    ...found.map((t) => `${t.name}: ${t.version} — ${t.describe}`),
    `rounds: ${opts.rounds} per dataset, tool order alternates per round; each round starts from a fresh repository`,
    opts.dropCaches
      ? 'page cache: warm, settled — before every timed op `sync`, the kernel\'s caches dropped (--drop-caches), then the source tree, repository, state and the tools\' own files read back (untimed)'
      : `page cache: warm — the source is copied (cp -a) and read once before each tool's first backup, and after the edit; nothing is dropped (${cannotDrop ?? '--no-drop-caches'}), so on a machine like this one an op may pay seconds for what the op before it freed: rounds may swing (bench/README.md); \`sync\` runs (untimed) before every op`,
    'finished trees (sources, restores, repositories) are moved aside and deleted when the run ends, not between ops: on ext4 without a journal, files created soon after a deletion cost more kernel time (bench/discard.ts)',
    ...(STATE_APART === undefined ? [] : [`Lifeboat's state folder (its drill's scratch space) apart from its restore targets: ${STATE_APART} (LIFEBOAT_BENCH_STATE_APART)`]),
    `peak RSS: ${method === 'gnu-time' ? 'GNU time %M (ru_maxrss of the child, from wait4)' : '/proc/<pid>/status VmHWM polled every 20 ms'}; stored = sum of file sizes in the repository folder (apparent)`,
    'edit (mixed dataset only): applied in place to the backed-up folder between the no-change and the edit backup, so untouched files keep inode and mtime; the small-file tree is restored as first backed up',
    'MB/s = bytes of the source tree (base for first/nochange, edited after) / wall time; MB = 10^6 bytes',
    `before each timed op: wait up to ${opts.idleWaitS} s until other processes use < 0.3 CPU (1 s windows); "other CPU s" = machine CPU time during the op not used by the tool`,
  ];
  console.log(notes.map((n) => `# ${n}`).join('\n'));
  if ((os.loadavg()[0] ?? 0) > 0.5) console.log('# WARNING: the machine is busy (load > 0.5): timings will be noisy — see the "other CPU s" column');

  const toolNames = TOOLS.filter((n) => found.some((t) => t.name === n));
  trash = trashBeside(WORK, (line) => console.log(line));
  if (opts.dropCaches) await waitOutDeletions(WORK, (line) => console.log(line));
  const results: { name: DatasetName; ds: Dataset; ops: Op[]; ctx: RoundContext; rows: Row[] }[] = [];
  for (const { name, ds, ops } of datasets) {
    rm(WORK);
    fs.mkdirSync(WORK, { recursive: true });
    const ctx: RoundContext = { name, ds, ops: new Set(ops), opts, samples: [] };
    for (let round = 1; round <= opts.rounds; round++) {
      const order = round % 2 === 1 ? found : [...found].reverse();
      console.log(`${name} dataset, round ${round}/${opts.rounds}: ${order.map((t) => t.name).join(' then ')}`);
      for (const tool of order) await runSequence(tool, round, ctx);
    }
    results.push({ name, ds, ops, ctx, rows: summarize(ctx.samples, toolNames, ops) });
  }

  for (const { name, ds, ctx, rows } of results) {
    console.log('');
    console.log(`${datasetLabel(name)}: medians of ${opts.rounds} round(s); ${ds.manifest.files.length} files` +
      (ds.manifest.symlinks ? `, ${ds.manifest.symlinks.length} symlinks` : '') + `, ${mb(ds.manifest.totalBytes)} MB base` +
      (ctx.edit ? `, ${mb(ctx.edit.totalBytes)} MB after the edit` : ''));
    console.log(table(rows));
    if (ctx.edit) {
      const e = ctx.edit;
      console.log(`edit: ${e.changedSmall} small files changed, ${e.changedLarge} large files with ${mb(e.insertedBytes)} MB inserted, ${e.added} added, ${e.removed} removed`);
    }
  }
  for (const r of results) for (const line of cpuSpreadWarnings(datasetLabel(r.name), r.rows)) console.log(line);
  if (results.some((r) => r.rows.some((row) => row.noisy > 0))) {
    console.log(`noisy = samples during which other processes used > ${NOISY_CORES} CPU on average; both tools are CPU-bound on 2 cores, so those times are inflated — rerun on a quiet machine for numbers to quote`);
  }
  const samples = results.flatMap((r) => r.ctx.samples);
  const failures = samples.filter((s) => !s.ok);
  for (const f of failures) {
    const oneLine = (f.error ?? '').replace(/\s+/g, ' ');
    console.log(`FAILED ${f.dataset} ${f.tool} ${f.op} round ${f.round}: ${oneLine.length > 300 ? oneLine.slice(0, 300) + '…' : oneLine}`);
  }

  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const out = path.join(DATA_DIR, `results-${stamp}.json`);
  const json = {
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    options: { ...opts, ops: OPS.filter((o) => opts.ops.has(o)) },
    machine: { cores: os.availableParallelism(), cpu: cpu[0]?.model, memBytes: os.totalmem(), node: process.version, loadAvgAtStart: os.loadavg() },
    rssMethod: method,
    notes,
    tools: found.map((t) => ({ name: t.name, version: t.version, invocation: t.describe })),
    datasets: results.map(({ name, ds, ops, ctx, rows }) => ({
      name,
      ops,
      dir: name === 'source' ? ds.dir : path.relative(REPO_ROOT, ds.dir),
      seed: ds.manifest.seed,
      version: ds.manifest.version,
      spec: ds.manifest.spec,
      files: ds.manifest.files.length,
      folders: ds.manifest.folders.length,
      symlinks: ds.manifest.symlinks?.length ?? 0,
      totalBytes: ds.manifest.totalBytes,
      generatedInMs: ds.manifest.generatedInMs,
      edit: ctx.edit,
      summary: rows,
    })),
    samples,
  };
  fs.writeFileSync(out, JSON.stringify(json, null, 2) + '\n');
  console.log(`results: ${path.relative(process.cwd(), out)}`);
  // After the results: emptying ~20 GB takes a while, and nothing is timed any more.
  trash.empty();
  return failures.length ? 1 : 0;
}

process.exitCode = await main();
