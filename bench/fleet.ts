/**
 * `npm run bench -- --fleet`: issue 19's fleet under load. One PostgreSQL
 * cluster of its own (initdb + pg_ctl, as bench/store.ts), one `lifeboat
 * serve` whose leader's scheduler dispatches, and `--fleet-agents` `lifeboat
 * agent` processes (own --host, own LIFEBOAT_HOME, own source folders and
 * local repositories), each host with `--fleet-runbooks-per-agent` runbooks
 * scheduled every minute, for `--fleet-minutes` minutes of fires.
 *
 * Measured over the fires F0 … F0 + (minutes − 1) (F0: the first whole minute
 * after everything is up):
 * - dispatch lag: each run's start as the agent recorded it (the run record's
 *   startedAt) minus the fire it belongs to (the latest whole minute at or
 *   before it: with every schedule a minute apart and the scheduler skipping a
 *   fire while the runbook's previous job runs, a run cannot belong to an older
 *   one); and the queue's part of it, pg-boss's started_on minus the fire;
 * - misses (a runbook's fire with no run) and doubles (more than one);
 * - CPU (user + system) of PostgreSQL (the postmaster's own and its reaped
 *   backends', plus the live backends'), of serve and of the agents, from
 *   /proc/<pid>/stat, over exactly the measured minutes; per job;
 * - statements (pg_stat_statements: calls and time, NOTIFY calls), WAL bytes,
 *   rows and bytes per row of the tables a run writes, peak connections.
 *
 * The numbers feed docs/fleet-scale.md (the estimate for 10,000 hosts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listRunbooks, type Runbook } from '../src/core/index.js';
import { initRunbookRepository } from '../src/core/repo/open-repository.js';
import { startPostgres, type PostgresCluster } from '../test/helpers/drill-postgres.js';
import { parseOrUsage, postgresBinFor, UsageError } from './bench-args.js';
import { BENCH_DIR, DATA_DIR } from './dataset.js';

const REPO_ROOT = path.dirname(BENCH_DIR);
const LIFEBOAT = path.join(REPO_ROOT, 'bin', 'lifeboat.js');
const PASSWORD = 'fleet-bench-password-7d1e';
/** issue 19's targets. */
const TARGET_P99_LAG_MS = 2_000;

export interface FleetBenchOptions {
  minutes: number;
  agents: number;
  runbooksPerAgent: number;
  keep: boolean;
  /** PostgreSQL's max_connections for the cluster (its default, 100, is below what 20 agents and a serve may open). */
  maxConnections: number;
  /** Where the first agent and serve write V8 CPU profiles (node --cpu-prof), if anywhere. */
  cpuProfDir?: string;
  /**
   * Minutes of fires before the measured ones, reported on their own: each
   * agent's first job of a runbook derives the repository's key (scrypt,
   * ~0.35 CPU-s), once in the agent's life. On their own machines 25 of those
   * are ~9 s of one host's CPU; here 20 agents share 2 cores, and 500 at the
   * first fire are ~175 CPU-s, which a fleet that has been up pays never again.
   * So this is a cap: the warm-up ends after the first minute whose fires all
   * ran (warmUp), at most this many minutes.
   */
  warmupMinutes: number;
}

const USAGE = `usage: npm run bench -- --fleet [options]
  --fleet-minutes N              minutes of scheduled fires measured (default 10)
  --fleet-agents N               agent processes, one host each (default 20)
  --fleet-runbooks-per-agent N   runbooks per host, each backing up every minute (default 25)
  --fleet-max-connections N      the cluster's max_connections (default 300)
  --fleet-warmup-minutes N       at most N minutes of fires before the measured ones, until a minute's fires all ran; reported apart (default 5; 0: measure the cold start)
  --fleet-cpu-prof DIR           CPU profiles (node --cpu-prof) of the first agent and of serve, written to DIR when they stop
  --keep                         keep the cluster, logs and repositories under bench/.data/work-fleet-XXXXXX`;


function parseFleetArgs(argv: string[]): FleetBenchOptions {
  const o: FleetBenchOptions = { minutes: 10, agents: 20, runbooksPerAgent: 25, keep: false, maxConnections: 300, warmupMinutes: 5 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const int = (min: number, max: number): number => {
      const v = inline ?? argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} wants an integer from ${min} to ${max}, got "${v}"`);
      return n;
    };
    switch (flag) {
      case '--fleet-minutes':
        o.minutes = int(1, 240);
        break;
      case '--fleet-agents':
        o.agents = int(1, 200);
        break;
      case '--fleet-runbooks-per-agent':
        o.runbooksPerAgent = int(1, 500);
        break;
      case '--fleet-max-connections':
        o.maxConnections = int(20, 5_000);
        break;
      case '--fleet-warmup-minutes':
        o.warmupMinutes = int(0, 10);
        break;
      case '--fleet-cpu-prof': {
        const v = inline ?? argv[++i];
        if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a folder`);
        o.cpuProfDir = path.resolve(v);
        break;
      }
      case '--keep':
        o.keep = true;
        break;
      case '--help':
      case '-h':
        throw new UsageError('');
      default:
        throw new UsageError(`unknown option for --fleet "${a}"`);
    }
  }
  return o;
}

const hostName = (i: number) => `h${String(i + 1).padStart(2, '0')}`;
const runbookOf = (host: string, j: number) => `${host}-rb${String(j + 1).padStart(2, '0')}`;

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on Linux everywhere in practice). */
const CLK_TCK = 100;

interface ProcTimes {
  /** utime + stime, seconds. */
  self: number;
  /** cutime + cstime, seconds (children waited for). */
  children: number;
  ppid: number;
}

export function procTimes(pid: number): ProcTimes | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces: fields are counted after its closing parenthesis.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state): field n is f[n - 3].
  const n = (field: number) => Number(f[field - 3]);
  return { ppid: n(4), self: (n(14) + n(15)) / CLK_TCK, children: (n(16) + n(17)) / CLK_TCK };
}

/** Every pid whose parent is `parent`. */
function childrenOf(parent: number): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    if (procTimes(Number(name))?.ppid === parent) out.push(Number(name));
  }
  return out;
}

/**
 * PostgreSQL's CPU so far: the postmaster's own, its reaped children's
 * (backends that exited are counted in its cutime/cstime) and its live
 * children's (backends, checkpointer, walwriter, autovacuum).
 */
export function postgresCpuS(postmaster: number): number {
  const main = procTimes(postmaster);
  if (!main) throw new Error(`bench: PostgreSQL's postmaster (pid ${postmaster}) is gone`);
  return main.self + main.children + childrenOf(postmaster).reduce((s, pid) => s + (procTimes(pid)?.self ?? 0), 0);
}

/** A process's CPU so far, its waited-for children included (a hook's shell, were there one). */
function processCpuS(pid: number | undefined): number {
  const t = pid === undefined ? undefined : procTimes(pid);
  return t ? t.self + t.children : 0;
}

interface Child {
  name: string;
  child: ChildProcess;
  /** Everything printed, also in `<logs>/<name>.log`. */
  output(): string;
  exited: Promise<number | null>;
  waitFor(pattern: RegExp, timeoutMs: number): Promise<void>;
}

function spawnLifeboat(name: string, args: string[], cwd: string, env: Record<string, string>, logDir: string, nodeArgs: string[] = []): Child {
  const child = spawn(process.execPath, [...nodeArgs, LIFEBOAT, ...args], {
    cwd,
    // Production settings: no test knobs (scrypt at its real cost), no NODE_ENV.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = fs.createWriteStream(path.join(logDir, `${name}.log`));
  // Only the start of the output is kept in memory (for the waits); the log file has all of it.
  let head = '';
  const take = (c: Buffer) => {
    log.write(c);
    if (head.length < 64_000) head += c.toString();
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let closed = false;
  child.on('close', () => {
    closed = true;
    log.end();
  });
  return {
    name,
    child,
    output: () => head,
    exited,
    async waitFor(pattern, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(head)) {
        if (Date.now() > deadline || closed) throw new Error(`bench: ${name} never printed ${pattern}; it printed:\n${head.slice(-4000)}`);
        await sleep(100);
      }
    },
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

async function mapLimit<T>(items: readonly T[], limit: number, body: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await body(items[next++]!);
    }),
  );
}

function runCliSync(args: string[], cwd: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [LIFEBOAT, ...args], { cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

interface Distribution {
  n: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function distribution(values: number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted[sorted.length - 1] ?? NaN };
}

/** Writes the fleet's runbooks (host, tiny source, local repository, every minute) and their sources. */
function writeFleet(work: string, opts: FleetBenchOptions): string[] {
  const runbooksDir = path.join(work, 'console', 'runbooks');
  fs.mkdirSync(runbooksDir, { recursive: true });
  const names: string[] = [];
  for (let i = 0; i < opts.agents; i++) {
    const host = hostName(i);
    fs.mkdirSync(path.join(work, host, 'runbooks'), { recursive: true });
    for (let j = 0; j < opts.runbooksPerAgent; j++) {
      const name = runbookOf(host, j);
      names.push(name);
      const src = path.join(work, host, 'src', name);
      fs.mkdirSync(path.join(src, 'etc'), { recursive: true });
      // A few small files, as a host's config folder: ~6 KB.
      fs.writeFileSync(path.join(src, 'etc', 'app.conf'), `# ${name} on ${host}\nlisten = 127.0.0.1:${8000 + j}\nworkers = 4\n`.repeat(40));
      fs.writeFileSync(path.join(src, 'etc', 'hosts'), `127.0.0.1 localhost\n127.0.1.1 ${host}\n`);
      fs.writeFileSync(path.join(src, 'notes.txt'), `runbook ${name}: fleet bench source\n`.repeat(80));
      const yaml = [
        `name: ${name}`,
        `host: ${host}`,
        'sources:',
        `  - name: files`,
        `    path: ${src}`,
        'repository:',
        '  hot:',
        `    url: file://${path.join(work, host, 'repos', name)}`,
        '  password:',
        '    env: LIFEBOAT_PASSWORD',
        'schedule:',
        "  backup: '* * * * *'",
        '  timezone: UTC',
        'objectives:',
        '  rpo: 26h',
        '  rto: 5m',
        '',
      ].join('\n');
      fs.writeFileSync(path.join(runbooksDir, `${name}.yaml`), yaml);
    }
  }
  return names;
}

interface Snapshot {
  at: number;
  postgresCpuS: number;
  serveCpuS: number;
  agentsCpuS: number;
  walLsn: string;
}

interface RunRow {
  runbook: string;
  host: string;
  status: string;
  startedAt: string;
  endedAt?: string;
  actor?: { face?: string };
}

interface JobRow {
  runbook: string;
  created: string;
  started: string | null;
  completed: string | null;
  state: string;
}

export async function runFleetBench(argv: string[]): Promise<number> {
  const opts = parseOrUsage(parseFleetArgs, argv, USAGE);
  if (typeof opts === 'number') return opts;
  const bin = postgresBinFor('fleet');
  if (bin === undefined) return 2;
  const runbookCount = opts.agents * opts.runbooksPerAgent;
  fs.mkdirSync(DATA_DIR, { recursive: true });
  const work = fs.mkdtempSync(path.join(DATA_DIR, 'work-fleet-'));
  const logDir = path.join(work, 'logs');
  fs.mkdirSync(logDir);
  if (opts.cpuProfDir) fs.mkdirSync(opts.cpuProfDir, { recursive: true });
  const profiled = (name: string) => (opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`, `--cpu-prof-name=${name}.cpuprofile`] : []);
  const cpus = os.cpus();
  console.log(`fleet bench: ${opts.agents} agents × ${opts.runbooksPerAgent} runbooks = ${runbookCount}, every minute, ${opts.minutes} minute(s) measured`);
  console.log(`machine: ${cpus.length} × ${cpus[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, PostgreSQL ${path.basename(path.dirname(bin))}; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`work folder: ${path.relative(process.cwd(), work)}`);

  let cluster: PostgresCluster | undefined;
  const children: Child[] = [];
  let result: number;
  try {
    cluster = await startPostgres(bin, work);
    // pg_stat_statements for the per-statement costs; more connections than the default 100 (counted: see peakConnections).
    cluster.sql('postgres', `ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`);
    cluster.sql('postgres', `ALTER SYSTEM SET max_connections = ${opts.maxConnections}`);
    cluster.stop();
    cluster.start();
    cluster.sql('postgres', 'CREATE DATABASE fleet');
    cluster.sql('fleet', 'CREATE EXTENSION pg_stat_statements');
    const pg = cluster;
    const url = `postgres://${pg.user}@127.0.0.1:${pg.port}/fleet`;
    const sql = (text: string) => pg.sql('fleet', text);
    const postmaster = Number(fs.readFileSync(path.join(pg.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    console.log(`PostgreSQL on 127.0.0.1:${pg.port} (fsync off, as the tests' clusters; max_connections ${opts.maxConnections})`);

    const names = writeFleet(work, opts);
    const consoleEnv = { LIFEBOAT_STORE_URL: url, LIFEBOAT_HOME: path.join(work, 'console', 'home'), LIFEBOAT_RUNBOOKS: path.join(work, 'console', 'runbooks'), LIFEBOAT_PASSWORD: PASSWORD, LIFEBOAT_HOST: 'console' };
    const migrated = await runCliSync(['store', 'migrate'], work, consoleEnv);
    if (migrated.code !== 0) throw new Error(`bench: lifeboat store migrate failed (exit ${migrated.code}):\n${migrated.out}`);

    // Repositories: created here, in-process (500 `lifeboat init` processes would take minutes of start-up), with the real scrypt cost.
    let t = performance.now();
    const entries = await listRunbooks({ runbooksDir: consoleEnv.LIFEBOAT_RUNBOOKS, home: consoleEnv.LIFEBOAT_HOME, cwd: work });
    const runbooks: Runbook[] = entries.map((e) => {
      if (!e.runbook) throw new Error(`bench runbook ${e.name} does not validate: ${JSON.stringify(e.issues)}`);
      return e.runbook;
    });
    if (runbooks.length !== names.length) throw new Error(`bench: ${names.length} runbooks written, ${runbooks.length} listed`);
    await mapLimit(runbooks, Math.max(2, cpus.length), async (rb) => {
      await initRunbookRepository(rb, { env: { LIFEBOAT_PASSWORD: PASSWORD } });
    });
    console.log(`${runbooks.length} repositories created in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    // Agents: as on their own machines (own state folder, own empty runbooks folder), production heartbeat and poll.
    t = performance.now();
    const agents: Child[] = [];
    await mapLimit(
      Array.from({ length: opts.agents }, (_, i) => hostName(i)),
      4,
      async (host) => {
        const agent = spawnLifeboat(`agent-${host}`, ['agent', '--host', host], path.join(work, host), {
          LIFEBOAT_STORE_URL: url,
          LIFEBOAT_HOME: path.join(work, host, 'home'),
          LIFEBOAT_RUNBOOKS: path.join(work, host, 'runbooks'),
          LIFEBOAT_PASSWORD: PASSWORD,
        }, logDir, host === hostName(0) ? profiled(`agent-${host}`) : []);
        children.push(agent);
        agents.push(agent);
        await agent.waitFor(/taking jobs from its queue/, 120_000);
      },
    );
    console.log(`${agents.length} agents taking jobs after ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const serve = spawnLifeboat('serve', ['serve', '--metrics-port', 'off'], work, consoleEnv, logDir, profiled('serve'));
    children.push(serve);
    await serve.waitFor(/scheduler running/, 120_000);
    console.log('serve: scheduler running');

    // The first whole minute at least 5 s away: serve has armed its timers by then.
    const warmupFrom = Math.ceil((Date.now() + 5_000) / 60_000) * 60_000;
    if (opts.warmupMinutes > 0) console.log(`warm-up from ${new Date(warmupFrom).toISOString()}: until a minute's fires all ran (at most ${opts.warmupMinutes} minute(s)); not in the measured minutes, reported apart`);
    const warmup = await warmUp(warmupFrom, opts.warmupMinutes, names.length, sql);
    const firstFire = warmupFrom + warmup.minutes * 60_000;
    const endAt = firstFire + opts.minutes * 60_000;
    const snapshot = (): Snapshot => ({
      at: Date.now(),
      postgresCpuS: postgresCpuS(postmaster),
      serveCpuS: processCpuS(serve.child.pid),
      agentsCpuS: agents.reduce((s, a) => s + processCpuS(a.child.pid), 0),
      walLsn: sql('SELECT pg_current_wal_lsn()').trim(),
    });
    await sleep(firstFire - 700 - Date.now());
    sql('SELECT pg_stat_statements_reset()');
    const sizesBefore = tableStats(sql);
    const before = snapshot();
    const loadBefore = os.loadavg();
    console.log(`measuring fires ${new Date(firstFire).toISOString()} … ${new Date(endAt - 60_000).toISOString()} (load ${loadBefore.map((l) => l.toFixed(2)).join(' ')})`);

    // Connections in use, sampled every 5 s; progress once a minute.
    let peakConnections = 0;
    let lastMinute = -1;
    while (Date.now() < endAt - 700) {
      const used = Number(sql('SELECT count(*) FROM pg_stat_activity WHERE backend_type = \'client backend\'').trim());
      peakConnections = Math.max(peakConnections, used);
      const minute = Math.floor((Date.now() - firstFire) / 60_000);
      if (minute !== lastMinute && minute >= 0) {
        lastMinute = minute;
        const done = Number(sql(`SELECT count(*) FROM runs WHERE kind = 'backup' AND started_at >= '${new Date(firstFire).toISOString()}'`).trim());
        console.log(`  minute ${minute + 1}/${opts.minutes}: ${done} runs so far, ${used} connections, load ${os.loadavg()[0]!.toFixed(2)}`);
      }
      await sleep(Math.min(5_000, endAt - 700 - Date.now()));
    }
    // Just before the next fire: the measured minutes' work, and none of the next one's.
    const after = snapshot();
    const statements = topStatements(sql);
    const sizesAfter = tableStats(sql);
    const walBytes = Number(sql(`SELECT pg_wal_lsn_diff('${after.walLsn}', '${before.walLsn}')`).trim());
    serve.child.kill('SIGTERM');
    const serveKill = setTimeout(() => serve.child.kill('SIGKILL'), 20_000);
    await serve.exited;
    clearTimeout(serveKill);
    const loadAfter = os.loadavg();

    // Runs and queue jobs of the measured window, read once everything of it settled (the last fire's runs end within its minute).
    const runs = JSON.parse(
      sql(`SELECT coalesce(json_agg(json_build_object('runbook', runbook, 'host', record::jsonb->>'host', 'status', status, 'startedAt', record::jsonb->>'startedAt', 'endedAt', record::jsonb->>'endedAt', 'actor', record::jsonb->'actor')), '[]') FROM runs WHERE kind = 'backup' AND started_at >= '${new Date(firstFire).toISOString()}' AND started_at < '${new Date(endAt).toISOString()}'`),
    ) as RunRow[];
    const jobs = JSON.parse(
      sql(
        `SELECT coalesce(json_agg(j), '[]') FROM (SELECT data->'runbook'->>'name' AS runbook, created_on AS created, started_on AS started, completed_on AS completed, state FROM lifeboat_queue.job UNION ALL SELECT data->'runbook'->>'name', created_on, started_on, completed_on, state FROM lifeboat_queue.archive) j WHERE created >= '${new Date(firstFire).toISOString()}' AND created < '${new Date(endAt).toISOString()}'`,
      ),
    ) as JobRow[];
    const warmupRuns = JSON.parse(
      sql(`SELECT coalesce(json_agg(json_build_object('runbook', runbook, 'status', status, 'startedAt', record::jsonb->>'startedAt')), '[]') FROM runs WHERE kind = 'backup' AND started_at >= '${new Date(warmupFrom).toISOString()}' AND started_at < '${new Date(firstFire).toISOString()}'`),
    ) as RunRow[];
    const warmupReported = warmup.minutes > 0 ? { ...warmupReport(names, warmupRuns, warmupFrom, warmup.minutes), steady: warmup.steady, runsPerMinute: warmup.runsPerMinute } : undefined;
    const skips = Number(sql(`SELECT count(*) FROM audit WHERE record::jsonb->>'result' = 'skipped' AND at >= '${new Date(firstFire).toISOString()}' AND at < '${new Date(endAt + 60_000).toISOString()}'`).trim());

    const report = { ...analyse({ opts, names, runs, jobs, skips, before, after, firstFire, statements, sizesBefore, sizesAfter, walBytes, peakConnections }), warmup: warmupReported };
    printReport(report, opts);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const out = path.join(DATA_DIR, `results-fleet-${stamp}.json`);
    fs.writeFileSync(
      out,
      JSON.stringify(
        {
          bench: 'fleet',
          date: new Date().toISOString(),
          machine: { cpus: cpus.length, model: cpus[0]?.model, memGiB: os.totalmem() / 2 ** 30, node: process.version, postgres: path.basename(path.dirname(bin)) },
          options: opts,
          load: { before: loadBefore, after: loadAfter },
          ...report,
        },
        null,
        2,
      ),
    );
    console.log(`results: ${path.relative(process.cwd(), out)}`);
    result = 0;
  } finally {
    await Promise.all(
      children.map(async (c) => {
        if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGTERM');
        const timer = setTimeout(() => c.child.kill('SIGKILL'), 20_000);
        await c.exited;
        clearTimeout(timer);
      }),
    );
    cluster?.stop();
    if (!opts.keep) fs.rmSync(work, { recursive: true, force: true });
  }
  return result;
}

interface TableStat {
  table: string;
  rows: number;
  bytes: number;
}

/** Rows and total bytes (heap, indexes, TOAST; every partition: pg-boss partitions its job table by queue; pg_partition_tree has no row for a plain table) of the tables a fleet writes. */
function tableStats(sql: (text: string) => string): TableStat[] {
  const tables = ['public.runs', 'public.audit', 'public.hosts', 'public.schedule_state', 'public.alerts', 'lifeboat_queue.job', 'lifeboat_queue.archive'];
  return tables.map((table) => {
    const [rows, bytes] = sql(`SELECT (SELECT count(*) FROM ${table}), (SELECT coalesce(sum(pg_total_relation_size(relid)), pg_total_relation_size('${table}')) FROM pg_partition_tree('${table}'))`).trim().split('|');
    return { table, rows: Number(rows), bytes: Number(bytes) };
  });
}

interface Statement {
  query: string;
  calls: number;
  totalMs: number;
  rows: number;
}

function topStatements(sql: (text: string) => string): Statement[] {
  const text = sql(
    `SELECT coalesce(json_agg(s ORDER BY s."totalMs" DESC), '[]') FROM (SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS query, calls, round(total_exec_time::numeric, 1) AS "totalMs", rows FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'fleet')) s`,
  );
  return (JSON.parse(text) as Statement[]).map((s) => ({ ...s, calls: Number(s.calls), totalMs: Number(s.totalMs), rows: Number(s.rows) }));
}

interface FleetReport {
  firesMeasured: number;
  runs: number;
  succeeded: number;
  failed: number;
  misses: number;
  doubles: number;
  skipsAudited: number;
  lag: Distribution;
  queueLag: Distribution;
  runDuration: Distribution;
  jobsPerS: number;
  cpu: { postgresS: number; serveS: number; agentsS: number; seconds: number; postgresMsPerJob: number; serveMsPerJob: number; agentsMsPerJob: number };
  walBytesPerJob: number;
  notifyCalls: number;
  statementCalls: number;
  statementMsPerJob: number;
  peakConnections: number;
  tables: { table: string; rowsAdded: number; bytesAdded: number; bytesPerRow: number }[];
  topStatements: Statement[];
}

function analyse(input: {
  opts: FleetBenchOptions;
  names: string[];
  runs: RunRow[];
  jobs: JobRow[];
  skips: number;
  before: Snapshot;
  after: Snapshot;
  firstFire: number;
  statements: Statement[];
  sizesBefore: TableStat[];
  sizesAfter: TableStat[];
  walBytes: number;
  peakConnections: number;
}): FleetReport {
  const { opts, names, runs, jobs, before, after, firstFire } = input;
  const fireOf = (iso: string) => Math.floor(Date.parse(iso) / 60_000) * 60_000;
  const perFire = new Map<string, number>();
  const lags: number[] = [];
  const durations: number[] = [];
  for (const r of runs) {
    const fire = fireOf(r.startedAt);
    lags.push(Date.parse(r.startedAt) - fire);
    if (r.endedAt) durations.push(Date.parse(r.endedAt) - Date.parse(r.startedAt));
    const key = `${r.runbook}@${fire}`;
    perFire.set(key, (perFire.get(key) ?? 0) + 1);
  }
  let misses = 0;
  let doubles = 0;
  for (const name of names) {
    for (let m = 0; m < opts.minutes; m++) {
      const n = perFire.get(`${name}@${firstFire + m * 60_000}`) ?? 0;
      if (n === 0) misses++;
      if (n > 1) doubles += n - 1;
    }
  }
  const queueLags = jobs.filter((j) => j.started !== null).map((j) => Date.parse(j.started!) - fireOf(j.created));
  const seconds = (after.at - before.at) / 1000;
  const n = Math.max(1, runs.length);
  const cpu = {
    postgresS: after.postgresCpuS - before.postgresCpuS,
    serveS: after.serveCpuS - before.serveCpuS,
    agentsS: after.agentsCpuS - before.agentsCpuS,
    seconds,
  };
  const statementCalls = input.statements.reduce((s, x) => s + x.calls, 0);
  const statementMs = input.statements.reduce((s, x) => s + x.totalMs, 0);
  return {
    firesMeasured: names.length * opts.minutes,
    runs: runs.length,
    succeeded: runs.filter((r) => r.status === 'succeeded').length,
    failed: runs.filter((r) => r.status !== 'succeeded').length,
    misses,
    doubles,
    skipsAudited: input.skips,
    lag: distribution(lags),
    queueLag: distribution(queueLags),
    runDuration: distribution(durations),
    jobsPerS: runs.length / (opts.minutes * 60),
    cpu: { ...cpu, postgresMsPerJob: (cpu.postgresS * 1000) / n, serveMsPerJob: (cpu.serveS * 1000) / n, agentsMsPerJob: (cpu.agentsS * 1000) / n },
    walBytesPerJob: input.walBytes / n,
    notifyCalls: input.statements.filter((s) => /pg_notify/i.test(s.query)).reduce((s, x) => s + x.calls, 0),
    statementCalls,
    statementMsPerJob: statementMs / n,
    peakConnections: input.peakConnections,
    tables: input.sizesAfter.map((a) => {
      const b = input.sizesBefore.find((x) => x.table === a.table)!;
      return { table: a.table, rowsAdded: a.rows - b.rows, bytesAdded: a.bytes - b.bytes, bytesPerRow: a.rows > 0 ? a.bytes / a.rows : 0 };
    }),
    topStatements: input.statements.slice(0, 15),
  };
}

interface WarmupReport {
  minutes: number;
  runs: number;
  misses: number;
  lag: Distribution;
}

/**
 * Warm-up minutes until the fleet is steady: a minute whose fires all ran
 * (every runbook's run started in it and ended) with nothing left in the
 * queue, checked 2 s before the next minute; at most `cap` minutes (0: none,
 * the cold start is measured). A real agent derives each runbook's key once
 * in its life; here 500 first jobs at one instant leave a backlog of minutes
 * that a fixed one-minute warm-up handed to the measured minutes.
 */
async function warmUp(from: number, cap: number, runbooks: number, sql: (text: string) => string): Promise<{ minutes: number; steady: boolean; runsPerMinute: number[] }> {
  const runsPerMinute: number[] = [];
  for (let m = 0; m < cap; m++) {
    const minute = from + m * 60_000;
    await sleep(minute + 58_000 - Date.now());
    const [ran, ended] = sql(
      `SELECT count(DISTINCT runbook), count(DISTINCT runbook) FILTER (WHERE record::jsonb->>'endedAt' IS NOT NULL) FROM runs WHERE kind = 'backup' AND started_at >= '${new Date(minute).toISOString()}' AND started_at < '${new Date(minute + 60_000).toISOString()}'`,
    )
      .trim()
      .split('|')
      .map(Number);
    const unsettled = Number(sql(`SELECT count(*) FROM lifeboat_queue.job WHERE state < 'completed'`).trim());
    runsPerMinute.push(ran ?? 0);
    const steady = ran === runbooks && ended === runbooks && unsettled === 0;
    console.log(`  warm-up minute ${m + 1}: ${ran} of ${runbooks} runbooks ran (${ended} ended), ${unsettled} job(s) still queued or running${steady ? ': steady' : ''}`);
    if (steady) return { minutes: m + 1, steady, runsPerMinute };
  }
  if (cap > 0) console.log(`  warm-up: not steady after ${cap} minute(s); measuring anyway`);
  return { minutes: cap, steady: false, runsPerMinute };
}

/** The warm-up minutes' fires: runs, misses and lag, measured as the others (analyse), CPU not counted. */
function warmupReport(names: string[], runs: RunRow[], from: number, minutes: number): WarmupReport {
  const fireOf = (iso: string) => Math.floor(Date.parse(iso) / 60_000) * 60_000;
  const fired = new Set(runs.map((r) => `${r.runbook}@${fireOf(r.startedAt)}`));
  let misses = 0;
  for (const name of names) for (let m = 0; m < minutes; m++) if (!fired.has(`${name}@${from + m * 60_000}`)) misses++;
  return { minutes, runs: runs.length, misses, lag: distribution(runs.map((r) => Date.parse(r.startedAt) - fireOf(r.startedAt))) };
}

const ms = (v: number) => (Number.isNaN(v) ? '—' : v < 10 ? `${v.toFixed(1)} ms` : v < 10_000 ? `${v.toFixed(0)} ms` : `${(v / 1000).toFixed(1)} s`);

function printReport(r: FleetReport & { warmup?: WarmupReport & { steady: boolean; runsPerMinute: number[] } }, opts: FleetBenchOptions): void {
  const ok = (pass: boolean) => (pass ? 'ok' : 'MISSED');
  console.log('');
  if (r.warmup) {
    const w = r.warmup;
    console.log(
      `warm-up (${w.minutes} minute(s) before the measured ones, ${w.steady ? 'until a minute\'s fires all ran' : 'not steady at its cap'}; each agent's first job of each runbook derives its key): ${w.runs} runs (${w.runsPerMinute.join(', ')} a minute), ${w.misses} misses, lag p50 / p99 / max ${ms(w.lag.p50Ms)} / ${ms(w.lag.p99Ms)} / ${ms(w.lag.maxMs)}`,
    );
    console.log('');
  }
  console.log(`| measure | value | target |`);
  console.log(`|---|---:|---|`);
  console.log(`| fires (runbooks × minutes) | ${r.firesMeasured} | |`);
  console.log(`| runs recorded (succeeded / other) | ${r.runs} (${r.succeeded} / ${r.failed}) | |`);
  console.log(`| dispatch lag p50 / p99 / max (fire → run start on the agent) | ${ms(r.lag.p50Ms)} / ${ms(r.lag.p99Ms)} / ${ms(r.lag.maxMs)} | p99 < 2 s: ${ok(r.lag.p99Ms < TARGET_P99_LAG_MS)} |`);
  console.log(`| queue part p50 / p99 / max (fire → pg-boss started_on) | ${ms(r.queueLag.p50Ms)} / ${ms(r.queueLag.p99Ms)} / ${ms(r.queueLag.maxMs)} | |`);
  console.log(`| run duration p50 / p99 | ${ms(r.runDuration.p50Ms)} / ${ms(r.runDuration.p99Ms)} | |`);
  console.log(`| misses / doubles (skips audited) | ${r.misses} / ${r.doubles} (${r.skipsAudited}) | 0 / 0: ${ok(r.misses === 0 && r.doubles === 0)} |`);
  console.log(`| jobs/s | ${r.jobsPerS.toFixed(2)} | |`);
  console.log(`| PostgreSQL CPU per job | ${ms(r.cpu.postgresMsPerJob)} (${r.cpu.postgresS.toFixed(1)} s in ${r.cpu.seconds.toFixed(0)} s) | |`);
  console.log(`| serve CPU per job | ${ms(r.cpu.serveMsPerJob)} (${r.cpu.serveS.toFixed(1)} s) | |`);
  console.log(`| agents' CPU per job | ${ms(r.cpu.agentsMsPerJob)} (${r.cpu.agentsS.toFixed(1)} s, ${opts.agents} agents) | |`);
  console.log(`| statements per job (time) | ${(r.statementCalls / Math.max(1, r.runs)).toFixed(1)} (${ms(r.statementMsPerJob)}) | |`);
  console.log(`| NOTIFY per job | ${(r.notifyCalls / Math.max(1, r.runs)).toFixed(1)} | |`);
  console.log(`| WAL per job | ${(r.walBytesPerJob / 1024).toFixed(1)} KiB | |`);
  console.log(`| peak client connections | ${r.peakConnections} | |`);
  console.log('');
  console.log('| table | rows added | bytes added | bytes per row (all rows) |');
  console.log('|---|---:|---:|---:|');
  for (const t of r.tables) console.log(`| ${t.table} | ${t.rowsAdded} | ${t.bytesAdded} | ${t.bytesPerRow.toFixed(0)} |`);
  console.log('');
  console.log('top statements by time (pg_stat_statements):');
  for (const s of r.topStatements.slice(0, 8)) console.log(`  ${String(s.calls).padStart(7)} calls ${ms(s.totalMs).padStart(9)}  ${s.query}`);
}
