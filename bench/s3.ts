/**
 * `npm run bench -- --s3`: first backup and full restore through an
 * S3-compatible server on loopback. s3rver runs as a child process (a fresh
 * folder per tool and round); Lifeboat backs the bench dataset up into
 * `s3://bench/lifeboat` (a runbook with the s3 URL and the endpoint), restic
 * (when on PATH) into `s3:…/bench/restic`, and `rclone copy` (when on PATH)
 * copies the same tree to `s3://bench/rclone`, each on a server of its own.
 * Then each restores (rclone: copies back) into an empty folder, compared with
 * the source untimed. Every op is timed spawn → exit; MB/s = bytes of the
 * source tree / wall time.
 *
 * Lifeboat's and restic's times are whole backups: walk, chunk, compress,
 * encrypt, upload (Lifeboat also stages, checks sizes and verifies a sample).
 * They send fewer bytes than rclone (the text half compresses); both the source
 * rate and the wire rate are reported. restic over plain http is not a fair
 * comparison with s3rver (it stores restic's aws-chunked framing inside the
 * objects): use --s3-tls. See bench/README.md.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { DATA_DIR, FULL_SPEC, SMALL_SPEC, describeManifest, ensureDataset, type Dataset } from './dataset.js';
import { rssMethod, runMeasured, tail, waitForIdle, type Command, type Measured } from './measure.js';
import { deleteNoted, trashBeside, waitOutDeletions, type Trash } from './discard.js';
import { cpuSpreadWarnings, userCpuRange } from './cpu-spread.js';
import { lifeboatFiles, settleCaches } from './settle-caches.js';
import { describePrefix, lifeboatCommand, lifeboatPrefix } from './lifeboat-command.js';
import { compare, describeComparison, fingerprint, warmTree, type Fingerprint } from './tree-compare.js';

const REPO_ROOT = path.resolve(DATA_DIR, '..', '..');
/**
 * Not bench/.data/work: the local bench clears that folder when it starts.
 * With LIFEBOAT_BENCH_WORK=DIR (a scratch folder of one's own), DIR-s3, so two
 * people benchmarking S3 on one machine do not clear each other's run.
 */
const WORK = process.env.LIFEBOAT_BENCH_WORK ? `${path.resolve(process.env.LIFEBOAT_BENCH_WORK)}-s3` : path.join(DATA_DIR, 'work-s3');
/** A round's folder (its server's objects, the restore) waits here until the run ends (bench/discard.ts). */
let trash: Trash | undefined;
const PASSWORD = 'lifeboat-bench-password';
const BUCKET = 'bench';
const KEYS = { id: 'S3RVER', secret: 'S3RVER' };

export type S3ToolName = 'lifeboat' | 'restic' | 'rclone';
const TOOL_ORDER: S3ToolName[] = ['lifeboat', 'restic', 'rclone'];
export type S3Op = 'first' | 'restore';
const OPS: S3Op[] = ['first', 'restore'];

export interface S3BenchOptions {
  rounds: number;
  only?: S3ToolName;
  small: boolean;
  regen: boolean;
  seed: number;
  timeoutS: number;
  idleWaitS: number;
  keep: boolean;
  verify: boolean;
  /** Serve s3rver over https with a self-signed certificate (both tools are told to trust it). */
  tls: boolean;
  /** Before each timed op: sync, drop the kernel's caches, read the op's inputs back (bench/settle-caches.ts). */
  dropCaches: boolean;
}

// ---------------------------------------------------------------------------
// s3rver as a child process

interface S3Server {
  endpoint: string;
  pid: number;
  /** s3rver's folder: `<store>/<bucket>/<key>._S3rver_object`. */
  store: string;
  /** user + system CPU seconds the server has used so far. */
  cpuS(): number | null;
  /** What clients asked of the server since the last call (or its start); counting starts afresh. */
  takeRequestStats(): Promise<ServerStats | null>;
  stop(): Promise<void>;
}

/** bench/s3rver-child.mjs's request counters (see its head comment). */
export interface ServerStats {
  requests: Record<string, number>;
  bytesIn: number;
  bytesOut: number;
  maxInFlight: number;
  connections: number;
  tlsResumed: number;
  requestMs: Record<string, number>;
}

function procCpuS(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    return ((f[11] ?? 0) + (f[12] ?? 0)) / 100;
  } catch {
    return null;
  }
}

async function startS3rverChild(store: string, tls: { key: string; cert: string } | undefined): Promise<S3Server> {
  fs.mkdirSync(store, { recursive: true });
  const statsFile = `${store}.stats.json`;
  const args = ['--openssl-legacy-provider', path.join(REPO_ROOT, 'bench', 's3rver-child.mjs'), store, BUCKET, '--stats', statsFile];
  if (tls) args.push('--key', tls.key, '--cert', tls.cert);
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s3rver did not start in 20 s: ${stderr}`)), 20_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve((JSON.parse(line) as { port: number }).port);
      } catch {
        reject(new Error(`s3rver said ${JSON.stringify(line)}: ${stderr}`));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with ${code} before listening: ${stderr}`));
    });
  });
  const pid = child.pid!;
  return {
    endpoint: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    pid,
    store,
    cpuS: () => procCpuS(pid),
    async takeRequestStats() {
      if (child.exitCode !== null || child.signalCode !== null) return null;
      const written = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 5000);
        lines.once('line', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      child.kill('SIGUSR2');
      if (!(await written)) return null;
      return JSON.parse(fs.readFileSync(statsFile, 'utf8')) as ServerStats;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A self-signed certificate for 127.0.0.1 made with the openssl CLI; undefined (and why) when it cannot be. */
function selfSignedCert(dir: string): { key: string; cert: string } | string {
  fs.mkdirSync(dir, { recursive: true });
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  const res = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert],
    { encoding: 'utf8' },
  );
  if (res.error || res.status !== 0) return `openssl could not make a certificate: ${res.error?.message ?? res.stderr}`;
  return { key, cert };
}

/** Objects s3rver holds under `<bucket>/<prefix>/`: count, bytes, and size per key below the prefix. */
function storedObjects(store: string, prefix: string): { objects: number; bytes: number; sizes: Map<string, number> } {
  const suffix = '._S3rver_object';
  const root = path.join(store, BUCKET, prefix);
  const sizes = new Map<string, number>();
  let bytes = 0;
  if (!fs.existsSync(root)) return { objects: 0, bytes, sizes };
  for (const e of fs.readdirSync(root, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || !e.name.endsWith(suffix)) continue;
    const abs = path.join(e.parentPath, e.name);
    const size = fs.statSync(abs).size;
    sizes.set(path.relative(root, abs).slice(0, -suffix.length), size);
    bytes += size;
  }
  return { objects: sizes.size, bytes, sizes };
}

// ---------------------------------------------------------------------------
// Tools

interface Dirs {
  root: string;
  state: string;
  logs: string;
  tmp: string;
}

interface S3Tool {
  name: S3ToolName;
  version: string;
  describe: string;
  /** Untimed set-up against a running server (write a runbook, init a repository). */
  prepare(d: Dirs, server: S3Server, opts: S3BenchOptions): Promise<string | undefined>;
  upload(d: Dirs, server: S3Server): Command;
  /** Checks what the server holds after the upload; extra facts for the sample. Throws when wrong. */
  inspect(d: Dirs, server: S3Server, m: Measured, ds: Dataset): Partial<Sample>;
  /** Everything the upload sent, back into the empty folder `target`. */
  restore(d: Dirs, server: S3Server, target: string): Command;
  /** Where, under `target`, the restored copy of the tree is. */
  restoredRoot(target: string): string;
}

function baseEnv(d: Dirs): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AWS_') && !k.startsWith('RCLONE_')) env[k] = v;
  env.TMPDIR = d.tmp;
  return env;
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

function lifeboatTool(ds: Dataset, caCert: string | undefined): S3Tool | string {
  const { prefix, version, missing } = lifeboatCommand(REPO_ROOT);
  if (missing !== undefined) return missing;
  const runbook = (d: Dirs): string => path.join(d.root, 'bench.yaml');
  const cmd = (d: Dirs, ...args: string[]): Command => ({
    argv: [...prefix, ...args],
    cwd: REPO_ROOT,
    env: {
      ...baseEnv(d),
      LIFEBOAT_HOME: d.state,
      LIFEBOAT_PASSWORD: PASSWORD,
      AWS_ACCESS_KEY_ID: KEYS.id,
      AWS_SECRET_ACCESS_KEY: KEYS.secret,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...(caCert ? { NODE_EXTRA_CA_CERTS: caCert } : {}),
    },
  });
  return {
    name: 'lifeboat',
    version: `git ${version}`,
    describe: `${describePrefix(prefix, REPO_ROOT)} backup bench.yaml --json (s3://${BUCKET}/lifeboat, transfer.concurrency 4)`,
    async prepare(d, server, opts) {
      const yaml = [
        'name: bench',
        'sources:',
        '  - name: src',
        `    path: ${JSON.stringify(ds.tree)}`,
        'repository:',
        `  hot: { url: "s3://${BUCKET}/lifeboat", endpoint: ${JSON.stringify(server.endpoint)}, pathStyle: true, region: us-east-1 }`,
        '  password: { env: LIFEBOAT_PASSWORD }',
        'objectives: { rpo: 26h, rto: 15m }',
        'transfer: { concurrency: 4 }',
        '',
      ].join('\n');
      fs.writeFileSync(runbook(d), yaml);
      const init = await runMeasured(cmd(d, 'init', runbook(d)), path.join(d.logs, 'init'), opts.timeoutS * 1000);
      return init.code === 0 ? undefined : `init failed (exit ${init.code}): ${tail(init.stderrPath, 1500).trim()}`;
    },
    upload: (d) => cmd(d, 'backup', runbook(d), '--json'),
    restore: (d, _server, target) => cmd(d, 'restore', runbook(d), 'latest', '--target', target),
    restoredRoot(target) {
      // As bench/run.ts: the restore puts the source at its full path, under its name, or at the target itself.
      const first = ds.manifest.files[0]?.path.split('/')[0] ?? '';
      const candidates = [path.join(target, ds.tree), path.join(target, 'src'), target];
      return candidates.find((c) => fs.existsSync(path.join(c, first))) ?? target;
    },
    inspect(_d, server, m) {
      const stored = storedObjects(server.store, 'lifeboat');
      const out = JSON.parse(fs.readFileSync(m.stdoutPath, 'utf8')) as {
        data?: { run?: { status: string; stages: { name: string; counters: Record<string, number> }[] } };
      };
      const run = out.data?.run;
      if (run?.status !== 'succeeded') throw new Error(`the run ended ${run?.status ?? 'without a record'}`);
      const transfer = run.stages.find((s) => s.name === 'transfer')?.counters ?? {};
      if ((transfer.pendingObjects ?? 0) !== 0) throw new Error(`${transfer.pendingObjects} object(s) still pending`);
      return {
        uploadedBytes: transfer.uploadedBytes,
        uploadedObjects: transfer.uploadedObjects,
        retries: transfer.retries,
        storedBytes: stored.bytes,
        storedObjects: stored.objects,
      };
    },
  };
}

function rcloneTool(ds: Dataset, caCert: string | undefined): S3Tool | string {
  const exe = which('rclone');
  if (!exe) return 'rclone not on PATH (Debian package rclone): no comparison';
  const version = (execFileSync(exe, ['version'], { encoding: 'utf8' }).split('\n')[0] ?? '').trim();
  const rclone: S3Tool = {
    name: 'rclone',
    version,
    describe: `${exe} copy TREE s3r:${BUCKET}/rclone (defaults: --transfers 4, --checkers 8; remote from RCLONE_CONFIG_S3R_* env, provider Other, path style)`,
    async prepare(d) {
      fs.writeFileSync(path.join(d.root, 'rclone.conf'), '');
      return undefined;
    },
    upload: (d, server) => ({
      argv: [exe, 'copy', ds.tree, `s3r:${BUCKET}/rclone`, ...(caCert ? ['--ca-cert', caCert] : [])],
      cwd: d.root,
      env: {
        ...baseEnv(d),
        // An empty config file of our own: nothing from the user's rclone.conf leaks in.
        RCLONE_CONFIG: path.join(d.root, 'rclone.conf'),
        RCLONE_CONFIG_S3R_TYPE: 's3',
        RCLONE_CONFIG_S3R_PROVIDER: 'Other',
        RCLONE_CONFIG_S3R_ENDPOINT: server.endpoint,
        RCLONE_CONFIG_S3R_ACCESS_KEY_ID: KEYS.id,
        RCLONE_CONFIG_S3R_SECRET_ACCESS_KEY: KEYS.secret,
        RCLONE_CONFIG_S3R_REGION: 'us-east-1',
        RCLONE_CONFIG_S3R_FORCE_PATH_STYLE: 'true',
      },
    }),
    restore(d, server, target) {
      const up = rclone.upload(d, server);
      return { ...up, argv: [exe, 'copy', `s3r:${BUCKET}/rclone`, target, ...(caCert ? ['--ca-cert', caCert] : [])] };
    },
    restoredRoot: (target) => target,
    inspect(_d, server) {
      const stored = storedObjects(server.store, 'rclone');
      // Every file arrived whole (a store that kept chunk framing or a short body shows here).
      const wrong = ds.manifest.files.filter((f) => stored.sizes.get(f.path) !== f.size);
      if (wrong.length > 0) {
        const f = wrong[0]!;
        throw new Error(`${wrong.length} of ${ds.manifest.files.length} files stored wrong, e.g. ${f.path}: ${f.size} bytes, stored ${stored.sizes.get(f.path) ?? 'nothing'}`);
      }
      return { uploadedBytes: stored.bytes, uploadedObjects: stored.objects, storedBytes: stored.bytes, storedObjects: stored.objects };
    },
  };
  return rclone;
}

/**
 * restic with its defaults (repository format 2, compression auto, 5 S3
 * connections), its cache in the bench folder as Lifeboat's state is. Over
 * https it is told the self-signed certificate with --cacert.
 */
function resticTool(ds: Dataset, caCert: string | undefined): S3Tool | string {
  const exe = which('restic');
  if (!exe) return 'restic not on PATH (Debian package restic): no comparison';
  const version = execFileSync(exe, ['version'], { encoding: 'utf8' }).trim();
  const cmd = (d: Dirs, server: S3Server, ...args: string[]): Command => ({
    argv: [exe, ...args, '--repo', `s3:${server.endpoint}/${BUCKET}/restic`, ...(caCert ? ['--cacert', caCert] : [])],
    cwd: d.root,
    env: {
      ...baseEnv(d),
      RESTIC_PASSWORD: PASSWORD,
      RESTIC_CACHE_DIR: d.state,
      AWS_ACCESS_KEY_ID: KEYS.id,
      AWS_SECRET_ACCESS_KEY: KEYS.secret,
      AWS_DEFAULT_REGION: 'us-east-1',
    },
  });
  return {
    name: 'restic',
    version,
    describe: `${exe} backup|restore --repo s3:ENDPOINT/${BUCKET}/restic${caCert ? ' --cacert CERT' : ''} (defaults: -o s3.connections=5; RESTIC_CACHE_DIR in the bench folder)`,
    async prepare(d, server, opts) {
      const init = await runMeasured(cmd(d, server, 'init'), path.join(d.logs, 'init'), opts.timeoutS * 1000);
      return init.code === 0 ? undefined : `init failed (exit ${init.code}): ${tail(init.stderrPath, 1500).trim()}`;
    },
    upload: (d, server) => cmd(d, server, 'backup', '--host', 'bench', '--json', ds.tree),
    restore: (d, server, target) => cmd(d, server, 'restore', 'latest', '--host', 'bench', '--target', target),
    restoredRoot: (target) => path.join(target, ds.tree),
    inspect(_d, server, m) {
      const stored = storedObjects(server.store, 'restic');
      const lines = fs.readFileSync(m.stdoutPath, 'utf8').split('\n').filter((l) => l.includes('"summary"'));
      const summary = lines.length ? (JSON.parse(lines[lines.length - 1]!) as { files_new?: number; data_added?: number }) : undefined;
      if (summary?.files_new !== ds.manifest.files.length) throw new Error(`restic's summary says ${summary?.files_new ?? 'nothing'} new files, the tree has ${ds.manifest.files.length}`);
      // What the server holds is what crossed the wire (restic uploads each object once).
      return { uploadedBytes: stored.bytes, uploadedObjects: stored.objects, storedBytes: stored.bytes, storedObjects: stored.objects };
    },
  };
}

// ---------------------------------------------------------------------------
// Running

interface Sample {
  tool: S3ToolName;
  op: S3Op;
  round: number;
  ok: boolean;
  error?: string;
  wallS: number;
  /** Source tree bytes / wall time, MB/s (MB = 10^6 bytes). */
  mbPerS: number;
  /** Bytes that crossed the wire (Lifeboat: its run record; restic, rclone: what the server holds). */
  uploadedBytes?: number;
  uploadedObjects?: number;
  wireMbPerS?: number;
  storedBytes?: number;
  storedObjects?: number;
  retries?: number;
  /** restore: how the restored tree compares with the source. */
  comparison?: string;
  cpuS: number | null;
  /** The tool's user CPU alone: the same work each round, so rounds that differ show the host's load (cpu-spread.ts). */
  userS: number | null;
  peakRssBytes: number | null;
  /** CPU seconds s3rver used during the op. */
  serverCpuS: number | null;
  /** Machine CPU seconds during the op used by neither the tool nor s3rver. */
  otherCpuS: number | null;
  /** What the tool asked of s3rver during the op (requests per kind, bytes, connections). */
  server?: ServerStats;
  loadAvg1: number;
  datasetBytes: number;
}

const mb = (n: number): string => (n / 1e6).toFixed(1);

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** node, Lifeboat's build (its dist/ and the modules it loads for S3), restic and rclone: read back after --drop-caches. */
function toolFiles(): string[] {
  return [...lifeboatFiles(lifeboatPrefix(REPO_ROOT), REPO_ROOT, ['zstd-napi', '@aws-sdk', '@smithy']), ...['restic', 'rclone'].flatMap((exe) => which(exe) ?? [])];
}

/** Runs one timed op with s3rver's CPU counted; untimed `sync` and idle wait first. */
async function timedOp(
  tool: S3Tool,
  op: S3Op,
  round: number,
  command: Command,
  logBase: string,
  server: S3Server,
  ds: Dataset,
  opts: S3BenchOptions,
  state: string,
): Promise<{ s: Sample; m: Measured; waited: string }> {
  spawnSync('sync');
  // The op's input (the tree for a backup, the server's objects for a restore), the tool's state,
  // and every tool's own files: the same for each tool, so none pays more disk reads than another.
  if (opts.dropCaches) settleCaches([op === 'first' ? ds.tree : server.store, state, ...toolFiles()]);
  let waited = '';
  if (opts.idleWaitS > 0) {
    const w = await waitForIdle(opts.idleWaitS);
    if (w.waitedS > 1.5) waited = ` (waited ${w.waitedS.toFixed(0)} s for other processes${w.busyCores !== null && w.busyCores >= 0.3 ? `, still ${w.busyCores.toFixed(1)} cores busy` : ''})`;
  }
  await server.takeRequestStats(); // what set-up and the op before asked is not this op's
  const server0 = server.cpuS();
  const m = await runMeasured(command, logBase, opts.timeoutS * 1000);
  const server1 = server.cpuS();
  const requests = await server.takeRequestStats();
  const serverCpuS = server0 !== null && server1 !== null ? server1 - server0 : null;
  const s: Sample = {
    tool: tool.name,
    op,
    round,
    ok: false,
    wallS: m.wallMs / 1000,
    mbPerS: ds.manifest.totalBytes / 1e6 / (m.wallMs / 1000),
    cpuS: m.cpuS,
    userS: m.userS,
    peakRssBytes: m.peakRssBytes,
    serverCpuS,
    otherCpuS: m.otherCpuS === null ? null : Math.max(0, m.otherCpuS - (serverCpuS ?? 0)),
    ...(requests === null ? {} : { server: requests }),
    loadAvg1: m.loadAvg1,
    datasetBytes: ds.manifest.totalBytes,
  };
  if (m.code !== 0 || m.timedOut) s.error = `${m.timedOut ? `timed out after ${opts.timeoutS} s` : `exit code ${m.code}`}: ${tail(m.stderrPath, 1500).trim()}`;
  return { s, m, waited };
}

function logSample(s: Sample, waited: string): void {
  const label = `  ${s.tool.padEnd(8)} ${s.op.padEnd(7)}${waited}`;
  if (!s.ok) {
    console.log(`${label} FAILED (${s.error})`);
    return;
  }
  const parts = [
    `${s.wallS.toFixed(2)} s`,
    `${s.mbPerS.toFixed(1)} MB/s of source`,
    s.wireMbPerS !== undefined ? `${s.wireMbPerS.toFixed(1)} MB/s on the wire (${mb(s.uploadedBytes!)} MB in ${s.uploadedObjects} objects)` : '',
    s.cpuS !== null ? `CPU ${s.cpuS.toFixed(1)} s${s.userS !== null ? ` (user ${s.userS.toFixed(1)})` : ''}` : '',
    s.serverCpuS !== null ? `s3rver CPU ${s.serverCpuS.toFixed(1)} s` : '',
    s.peakRssBytes !== null ? `RSS ${mb(s.peakRssBytes)} MB` : '',
    s.retries ? `${s.retries} retries` : '',
    s.comparison ?? '',
    s.otherCpuS !== null && s.otherCpuS > 0.1 * s.wallS ? `(other processes: ${s.otherCpuS.toFixed(1)} CPU s)` : '',
  ];
  console.log(`${label} ${parts.filter(Boolean).join(', ')}`);
  if (s.server) console.log(`${' '.repeat(19)}s3rver saw: ${describeServerStats(s.server)}`);
}

/** `GET range 255 (585.1 MB out), PUT 40 (…)`, connections, TLS resumptions, most in flight. */
function describeServerStats(st: ServerStats): string {
  const kinds = Object.entries(st.requests)
    .sort((a, b) => b[1] - a[1])
    .map(([kind, n]) => `${kind} ${n} (${((st.requestMs[kind] ?? 0) / 1000).toFixed(1)} s served)`);
  return `${kinds.join(', ')}; ${mb(st.bytesIn)} MB in, ${mb(st.bytesOut)} MB out; ${st.connections} connections (${st.tlsResumed} TLS resumed), at most ${st.maxInFlight} in flight`;
}

/** One tool, one round: a fresh server, the first backup, then (when it worked) the full restore. */
async function runOne(tool: S3Tool, round: number, ds: Dataset, source: Fingerprint | undefined, opts: S3BenchOptions, tls: { key: string; cert: string } | undefined): Promise<Sample[]> {
  const root = path.join(WORK, tool.name);
  const d: Dirs = { root, state: path.join(root, 'state'), logs: path.join(WORK, 'logs', tool.name, `round-${round}`), tmp: path.join(root, 'tmp') };
  trash?.discard(root);
  for (const p of [d.root, d.state, d.logs, d.tmp]) fs.mkdirSync(p, { recursive: true });
  const server = await startS3rverChild(path.join(root, 's3rver'), tls);
  const failedSample = (op: S3Op, error: string): Sample => ({
    tool: tool.name,
    op,
    round,
    ok: false,
    error,
    wallS: 0,
    mbPerS: 0,
    cpuS: null,
    userS: null,
    peakRssBytes: null,
    serverCpuS: null,
    otherCpuS: null,
    loadAvg1: os.loadavg()[0] ?? 0,
    datasetBytes: ds.manifest.totalBytes,
  });
  try {
    const failed = await tool.prepare(d, server, opts);
    if (failed) return [failedSample('first', failed)];

    const up = await timedOp(tool, 'first', round, tool.upload(d, server), path.join(d.logs, 'first'), server, ds, opts, d.state);
    const first = up.s;
    if (first.error === undefined) {
      try {
        if (opts.verify) Object.assign(first, tool.inspect(d, server, up.m, ds));
        first.ok = true;
      } catch (e) {
        first.error = `upload finished but: ${(e as Error).message}`;
      }
    }
    if (first.uploadedBytes !== undefined) first.wireMbPerS = first.uploadedBytes / 1e6 / first.wallS;
    logSample(first, up.waited);
    if (!first.ok) return [first];

    const target = path.join(root, 'restore');
    fs.mkdirSync(target, { recursive: true });
    const down = await timedOp(tool, 'restore', round, tool.restore(d, server, target), path.join(d.logs, 'restore'), server, ds, opts, d.state);
    const restore = down.s;
    if (restore.error === undefined) {
      if (source === undefined) {
        restore.ok = true;
      } else {
        const c = compare(source, fingerprint(tool.restoredRoot(target)));
        restore.comparison = describeComparison(c);
        if (c.ok) restore.ok = true;
        else restore.error = `restore finished but: ${restore.comparison}`;
      }
    }
    logSample(restore, down.waited);
    return [first, restore];
  } finally {
    await server.stop();
    if (!(opts.keep && round === opts.rounds)) trash?.discard(root);
  }
}

interface Row {
  tool: S3ToolName;
  op: S3Op;
  ok: number;
  runs: number;
  timeS: number | null;
  minTimeS: number | null;
  maxTimeS: number | null;
  mbPerS: number | null;
  wireMbPerS: number | null;
  uploadedMB: number | null;
  cpuS: number | null;
  userS: number | null;
  /** The least and most user CPU one round took (cpu-spread.ts). */
  minUserS: number | null;
  maxUserS: number | null;
  serverCpuS: number | null;
  peakRssMB: number | null;
  otherCpuS: number | null;
}

function summarize(samples: Sample[], tools: S3ToolName[]): Row[] {
  return OPS.flatMap((op) =>
    tools.flatMap((tool) => {
      const all = samples.filter((s) => s.tool === tool && s.op === op);
      if (all.length === 0) return [];
      const ok = all.filter((s) => s.ok);
      const nums = (f: (s: Sample) => number | null | undefined): number[] => ok.map(f).filter((x): x is number => typeof x === 'number');
      const times = nums((s) => s.wallS);
      const users = nums((s) => s.userS);
      const timeS = median(times);
      const uploaded = median(nums((s) => s.uploadedBytes));
      const rss = median(nums((s) => s.peakRssBytes));
      return [
        {
          tool,
          op,
          ok: ok.length,
          runs: all.length,
          timeS,
          minTimeS: times.length ? Math.min(...times) : null,
          maxTimeS: times.length ? Math.max(...times) : null,
          mbPerS: timeS ? all[0]!.datasetBytes / 1e6 / timeS : null,
          wireMbPerS: timeS && uploaded !== null ? uploaded / 1e6 / timeS : null,
          uploadedMB: uploaded === null ? null : uploaded / 1e6,
          cpuS: median(nums((s) => s.cpuS)),
          userS: median(users),
          ...userCpuRange(users),
          serverCpuS: median(nums((s) => s.serverCpuS)),
          peakRssMB: rss === null ? null : rss / 1e6,
          otherCpuS: median(nums((s) => s.otherCpuS)),
        },
      ];
    }),
  );
}

function table(rows: Row[]): string {
  const head = ['op', 'tool', 'time s', 'min–max s', 'MB/s source', 'MB/s wire', 'sent MB', 'CPU s', 'user s', 's3rver CPU s', 'peak RSS MB', 'other CPU s', 'ok'];
  const f = (n: number | null, digits: number): string => (n === null ? '-' : n.toFixed(digits));
  const lines = rows.map((r) => [
    r.op,
    r.tool,
    f(r.timeS, 2),
    r.minTimeS === null ? '-' : `${r.minTimeS.toFixed(2)}–${(r.maxTimeS as number).toFixed(2)}`,
    f(r.mbPerS, 1),
    f(r.wireMbPerS, 1),
    f(r.uploadedMB, 1),
    f(r.cpuS, 1),
    f(r.userS, 1),
    f(r.serverCpuS, 1),
    f(r.peakRssMB, 1),
    f(r.otherCpuS, 1),
    `${r.ok}/${r.runs}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(fmt)].join('\n');
}

/** Lifeboat's median time / the other tool's, per op (< 1.0 = Lifeboat is faster); null where either is missing. */
function timeRatios(rows: Row[], other: S3ToolName): Partial<Record<S3Op, number>> {
  const out: Partial<Record<S3Op, number>> = {};
  for (const op of OPS) {
    const l = rows.find((r) => r.tool === 'lifeboat' && r.op === op)?.timeS;
    const o = rows.find((r) => r.tool === other && r.op === op)?.timeS;
    if (l && o) out[op] = l / o;
  }
  return out;
}

export async function runS3Bench(opts: S3BenchOptions): Promise<number> {
  const started = new Date();
  const ds = await ensureDataset({ spec: opts.small ? SMALL_SPEC : FULL_SPEC, seed: opts.seed, regen: opts.regen, log: (s) => console.log(s) });
  deleteNoted(WORK, WORK);
  fs.mkdirSync(WORK, { recursive: true });
  trash = trashBeside(WORK, (line) => console.log(line));
  if (opts.dropCaches) await waitOutDeletions(WORK, (line) => console.log(line));

  let tls: { key: string; cert: string } | undefined;
  if (opts.tls) {
    const made = selfSignedCert(path.join(WORK, 'tls'));
    if (typeof made === 'string') {
      console.error(`bench: --s3-tls: ${made}`);
      return 2;
    }
    tls = made;
  }

  const found: S3Tool[] = [];
  for (const name of TOOL_ORDER) {
    if (opts.only && opts.only !== name) continue;
    const make = name === 'lifeboat' ? lifeboatTool : name === 'restic' ? resticTool : rcloneTool;
    const t = make(ds, tls?.cert);
    if (typeof t === 'string') console.log(`skipping ${name}: ${t}`);
    else found.push(t);
  }
  if (found.length === 0) {
    console.error('bench: no tool to run');
    return 2;
  }

  const cpu = os.cpus();
  const notes = [
    `${os.availableParallelism()} cores (${cpu[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    `dataset: ${describeManifest(ds.manifest).split('\n').join('\n         ')}`,
    `server: s3rver 3.7.1 as a child process on 127.0.0.1 over ${tls ? 'https (self-signed certificate)' : 'http'}, a fresh folder per tool and round (--openssl-legacy-provider)`,
    ...found.map((t) => `${t.name}: ${t.version} — ${t.describe}`),
    `rounds: ${opts.rounds}, tool order alternates per round; per tool and round: first backup, then full restore into an empty folder (its state/cache from the backup kept); the source tree is read in place (warm page cache: read once before the first round)`,
    ...(opts.dropCaches ? ['before every timed op: `sync`, the kernel\'s caches dropped (--drop-caches), then the op\'s input (tree or server objects), the state and every tool\'s own files read back (untimed)'] : []),
    'MB/s source = bytes of the source tree / wall time (spawn → exit); MB/s wire = bytes uploaded / wall time; MB = 10^6 bytes',
    "Lifeboat's and restic's first backups are whole backups (chunk, compress, encrypt, upload; Lifeboat also stages, checks sizes, verifies a sample); rclone copies files as they are",
    `peak RSS: ${rssMethod() === 'gnu-time' ? 'GNU time %M' : '/proc VmHWM polled'}; s3rver CPU s = CPU the server process used during the op; other CPU s = the rest of the machine`,
    ...(tls || !found.some((t) => t.name === 'restic') ? [] : ['WARNING: restic over plain http: s3rver stores its aws-chunked framing inside the objects; use --s3-tls for a fair comparison']),
  ];
  console.log(notes.map((n) => `# ${n}`).join('\n'));
  if ((os.loadavg()[0] ?? 0) > 0.5) console.log('# WARNING: the machine is busy (load > 0.5): timings will be noisy — see the "other CPU s" column');

  warmTree(ds.tree);
  const source = opts.verify ? fingerprint(ds.tree) : undefined;
  const samples: Sample[] = [];
  for (let round = 1; round <= opts.rounds; round++) {
    const order = round % 2 === 1 ? found : [...found].reverse();
    console.log(`round ${round}/${opts.rounds}: ${order.map((t) => t.name).join(' then ')}`);
    for (const tool of order) samples.push(...(await runOne(tool, round, ds, source, opts, tls)));
  }

  const rows = summarize(
    samples,
    TOOL_ORDER.filter((n) => found.some((t) => t.name === n)),
  );
  const vsRestic = timeRatios(rows, 'restic');
  const vsRclone = timeRatios(rows, 'rclone');
  console.log('');
  console.log(`medians of ${opts.rounds} round(s); ${ds.manifest.files.length} files, ${mb(ds.manifest.totalBytes)} MB`);
  console.log(table(rows));
  for (const [other, ratios] of [['restic', vsRestic], ['rclone', vsRclone]] as const) {
    const parts = OPS.filter((op) => ratios[op] !== undefined).map((op) => `${op} ${ratios[op]!.toFixed(2)}×`);
    if (parts.length) console.log(`Lifeboat / ${other} time (< 1.0: Lifeboat faster): ${parts.join(', ')}`);
  }
  for (const line of cpuSpreadWarnings('S3', rows)) console.log(line);
  const failures = samples.filter((s) => !s.ok);
  for (const f of failures) console.log(`FAILED ${f.tool} ${f.op} round ${f.round}: ${(f.error ?? '').replace(/\s+/g, ' ').slice(0, 400)}`);

  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const out = path.join(DATA_DIR, `results-s3-${stamp}.json`);
  const json = {
    kind: 's3',
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    options: opts,
    machine: { cores: os.availableParallelism(), cpu: cpu[0]?.model, memBytes: os.totalmem(), node: process.version, loadAvgAtStart: os.loadavg() },
    notes,
    tools: found.map((t) => ({ name: t.name, version: t.version, invocation: t.describe })),
    dataset: {
      dir: path.relative(REPO_ROOT, ds.dir),
      seed: ds.manifest.seed,
      version: ds.manifest.version,
      spec: ds.manifest.spec,
      files: ds.manifest.files.length,
      totalBytes: ds.manifest.totalBytes,
    },
    summary: rows,
    /** Lifeboat median time / restic's, per op (< 1.0: Lifeboat faster). */
    lifeboatToResticTime: vsRestic,
    /** Lifeboat median time / rclone's, per op. */
    lifeboatToRcloneTime: vsRclone,
    samples,
  };
  fs.writeFileSync(out, JSON.stringify(json, null, 2) + '\n');
  console.log(`results: ${path.relative(process.cwd(), out)}`);
  trash?.empty();
  return failures.length ? 1 : 0;
}
