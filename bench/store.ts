/**
 * `npm run bench -- --store`: the state store under issue 18's load. A
 * throwaway PostgreSQL cluster (initdb + pg_ctl on a free loopback port, as the
 * tests start one: test/helpers/drill-postgres.ts) gets 500 runbooks, 1,000,000
 * runs, 100,000 drills and 50,000 alerts (bench/store-data.ts); a JSON state
 * file gets the same records cut to the JSON store's limits. Then, per store,
 * the reads the faces make are timed through the code the faces call:
 *
 * - status, first read: readStatus on a store opened just before (what a
 *   one-shot `lifeboat status` does; PostgreSQL only);
 * - status: readStatus over the 500 loaded runbooks (what `lifeboat status`,
 *   the console's dashboard and Slack's `/backup list` compute); and the whole
 *   `status` command, which also reads and validates the 500 runbook files;
 * - history: the `history <runbook>` command (a page of 20), a different
 *   runbook each time;
 * - alerts: the `alerts` command (every open alert);
 * - metrics: a /metrics scrape, the registry of createMetrics (src/serve/metrics.ts).
 *
 * While status and /metrics are timed, another writer records a backup of the
 * next runbook before each call (untimed), as a team's hosts do: a store that
 * keeps what it read must read that runbook again each time.
 *
 * Each operation runs a few untimed warm-up rounds, then `--iterations` timed
 * ones (or fewer when `--budget` seconds run out first, never fewer than 5):
 * median and p99 (nearest rank). See bench/README.md.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { alertsCommand } from '../commands/alerts.js';
import type { CommandContext } from '../commands/command.js';
import { historyCommand } from '../commands/history.js';
import { statusCommand } from '../commands/status.js';
import { listRunbooks, readStatus, systemClock, type Runbook, type Store } from '../src/core/index.js';
import { openJsonStore } from '../src/core/store/json-store.js';
import { COMMAND_STORE_CONNECTIONS } from '../src/core/store/open-store.js';
import { openPostgresStore } from '../src/core/store/postgres/postgres-store.js';
import { createMetrics } from '../src/serve/metrics.js';
import { startPostgres, type PostgresCluster } from '../test/helpers/drill-postgres.js';
import { parseOrUsage, postgresBinFor, UsageError } from './bench-args.js';
import { DATA_DIR } from './dataset.js';
import { waitForIdle } from './measure.js';
import { ISSUE_SPEC, generateInPostgres, runbookName, runbookYaml, stateAtLimits, type StoreDataSpec } from './store-data.js';

/** issue 18's target for every operation on PostgreSQL. */
const TARGET_P99_MS = 100;

export interface StoreBenchOptions {
  iterations: number;
  /** Seconds of timed iterations per operation at most, once `minIterations` ran. */
  budgetS: number;
  minIterations: number;
  /** Untimed rounds first. */
  warmups: number;
  /** Fraction of issue 18's sizes (1 = 1,000,000 runs), for a quick try. */
  scale: number;
  only?: 'postgres' | 'json';
  keep: boolean;
  /** Before each operation, wait up to this long for the rest of the machine to go quiet. */
  idleWaitS: number;
  /** A database a --keep run generated: no cluster is started and nothing generated (the JSON file is cut from it again). */
  url?: string;
}

const USAGE = `usage: npm run bench -- --store [options]
  --iterations N   timed iterations per operation and store (default 200)
  --budget S       stop an operation's iterations after S seconds (default 60, JSON 30; at least
                   5 always run, 3 on JSON)
  --scale F        fraction of issue 18's data (default 1: 500 runbooks, 1,000,000 runs,
                   100,000 drills, 50,000 alerts); the runbook count scales too
  --only STORE     postgres or json
  --idle-wait S    before each operation, wait up to S seconds for the rest of the machine to
                   use < 0.3 CPU (default 30; 0 = don't wait)
  --keep           keep the PostgreSQL cluster and the state file under bench/.data/work-store-XXXXXX
  --url URL        time the database an earlier run generated and kept (its cluster started again
                   by hand: pg_ctl -D bench/.data/work-store-XXXXXX/pg/data start), generating nothing`;


function parseStoreArgs(argv: string[]): StoreBenchOptions {
  const o: StoreBenchOptions = { iterations: 200, budgetS: 60, minIterations: 5, warmups: 3, scale: 1, keep: false, idleWaitS: 30 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const val = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    const num = (s: string, min: number, integer: boolean): number => {
      const n = Number(s);
      if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) throw new UsageError(`${flag} wants ${integer ? 'an integer' : 'a number'} ≥ ${min}, got "${s}"`);
      return n;
    };
    switch (flag) {
      case '--iterations':
        o.iterations = num(val(), 5, true);
        break;
      case '--budget':
        o.budgetS = num(val(), 1, false);
        break;
      case '--scale':
        o.scale = num(val(), 0.001, false);
        if (o.scale > 1) throw new UsageError(`--scale wants a fraction up to 1, got "${o.scale}"`);
        break;
      case '--only': {
        const v = val();
        if (v !== 'postgres' && v !== 'json') throw new UsageError(`--only wants postgres or json, got "${v}"`);
        o.only = v;
        break;
      }
      case '--keep':
        o.keep = true;
        break;
      case '--url':
        o.url = val();
        break;
      case '--idle-wait':
        o.idleWaitS = num(val(), 0, false);
        break;
      case '--help':
      case '-h':
        throw new UsageError('');
      default:
        throw new UsageError(`unknown option for --store "${a}"`);
    }
  }
  return o;
}

interface Timing {
  store: 'postgres' | 'json';
  op: string;
  n: number;
  medianMs: number;
  p99Ms: number;
  maxMs: number;
  /** What one call returned (rows, runbooks, bytes), for the report. */
  result: string;
  /** CPUs the rest of the machine used just before (null: unknown). */
  busyCores: number | null;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** `before` runs ahead of each call, untimed (a run landing, a store opening). */
async function time(store: Timing['store'], op: string, opts: StoreBenchOptions, body: (i: number) => Promise<string>, before?: (i: number) => Promise<void>): Promise<Timing> {
  let result = '';
  for (let i = 0; i < opts.warmups; i++) {
    await before?.(-1 - i);
    result = await body(i);
  }
  const { busyCores } = opts.idleWaitS > 0 ? await waitForIdle(opts.idleWaitS) : { busyCores: null };
  const samples: number[] = [];
  const deadline = performance.now() + opts.budgetS * 1000;
  for (let i = 0; i < opts.iterations && (samples.length < opts.minIterations || performance.now() < deadline); i++) {
    await before?.(i);
    const t = performance.now();
    await body(i);
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  const timing = { store, op, n: samples.length, medianMs: percentile(samples, 50), p99Ms: percentile(samples, 99), maxMs: samples[samples.length - 1]!, result, busyCores };
  const busy = busyCores === null ? '' : `; rest of the machine ${busyCores.toFixed(1)} CPU before`;
  console.log(`  ${store.padEnd(8)} ${op.padEnd(16)} median ${fmt(timing.medianMs)}  p99 ${fmt(timing.p99Ms)}  max ${fmt(timing.maxMs)}  (n=${timing.n}; ${result}${busy})`);
  return timing;
}

function fmt(ms: number): string {
  return `${ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0)} ms`;
}

/**
 * What the faces do while the team works: before each status read and each
 * scrape, another writer (another process's store) records a backup of the
 * next runbook, so a store that keeps what it read (the PostgreSQL store's
 * ListCache) must read that runbook again every time, as it would in service.
 */
interface Activity {
  land(i: number): Promise<void>;
  /** A store opened afresh, as a one-shot `lifeboat status` has: its first read of everything. */
  fresh?(): Promise<Store>;
}

/** A writer that records one more backup per call, a copy of the newest one of runbook 0 with a new id and times. */
async function landingRuns(writer: Store, runbookCount: number): Promise<(i: number) => Promise<void>> {
  const [template] = await writer.listRuns({ runbook: runbookName(0), kind: 'backup', limit: 1 });
  if (!template) throw new Error('bench: the generated data has no backup of the first runbook');
  const tag = Date.now().toString(36);
  let landed = 0;
  return async (i) => {
    const started = new Date(Date.now() - 60_000);
    const runbook = runbookName(((i % runbookCount) + runbookCount) % runbookCount);
    await writer.putRun({ ...template, id: `land-${tag}-${landed++}`, runbook, startedAt: started.toISOString(), endedAt: new Date().toISOString() });
  };
}

/** The same operations on any store: what `status`, `history`, `alerts` and a /metrics scrape do. */
async function timeOperations(kind: Timing['store'], store: Store, work: string, runbooksDir: string, runbooks: readonly Runbook[], opts: StoreBenchOptions, activity: Activity): Promise<Timing[]> {
  const ctx: CommandContext = {
    actor: { face: 'cli', user: 'bench' },
    env: {},
    cwd: work,
    home: work,
    runbooksDir,
    clock: systemClock,
    emit: () => undefined,
    signal: new AbortController().signal,
    store: async () => store,
  };
  const statusRunbooks = runbooks.map((r) => ({ name: r.name, runbook: r }));
  const metrics = createMetrics({ store: async () => store, runbooks: () => runbooks, clock: systemClock, processMetrics: false });
  const out: Timing[] = [];
  const status = async (from: Store) => {
    const entries = await readStatus({ runbooks: statusRunbooks, store: from, clock: systemClock });
    if (entries.some((e) => e.lastRun === undefined)) throw new Error(`${kind}: status found a runbook without a backup: the generated data is not read back`);
    return `${entries.length} runbooks`;
  };
  if (activity.fresh) {
    let fresh: Store | undefined;
    out.push(
      // Up to 100 (each opens a store): with 20, as before, the nearest-rank p99 was simply the slowest one.
      await time(kind, 'status, first read', { ...opts, iterations: Math.min(opts.iterations, 100) }, async () => status(fresh!), async () => {
        await fresh?.close();
        fresh = await activity.fresh!();
      }),
    );
    await fresh?.close();
  }
  out.push(await time(kind, 'status', opts, async () => status(store), activity.land));
  out.push(
    await time(kind, 'history page', opts, async (i) => {
      const runbook = runbookName((i * 37) % runbooks.length);
      const res = await historyCommand.run({ runbook, limit: 20, kind: undefined }, ctx);
      const rows = res.table?.rows.length ?? 0;
      if (rows !== 20) throw new Error(`${kind}: history of ${runbook} has ${rows} rows, expected 20`);
      return `${rows} runs`;
    }),
  );
  out.push(
    await time(kind, 'open alerts', opts, async () => {
      const res = await alertsCommand.run({ runbook: undefined, all: false }, ctx);
      return res.summary ?? '';
    }),
  );
  out.push(
    await time(
      kind,
      '/metrics scrape',
      opts,
      async () => {
        const text = await metrics.registry.metrics();
        return `${(text.length / 1024).toFixed(0)} KiB`;
      },
      activity.land,
    ),
  );
  // Whole command: also lists, reads and validates the runbook files (the same work on either store).
  out.push(
    await time(kind, 'status command', { ...opts, iterations: Math.min(opts.iterations, 50) }, async () => {
      const res = await statusCommand.run({}, ctx);
      return res.summary ?? '';
    }),
  );
  metrics.registry.clear();
  return out;
}

export async function runStoreBench(argv: string[]): Promise<number> {
  const opts = parseOrUsage(parseStoreArgs, argv, USAGE);
  if (typeof opts === 'number') return opts;
  const bin = postgresBinFor('store');
  if (bin === undefined) return 2;
  const spec: StoreDataSpec = {
    runbooks: Math.max(1, Math.round(ISSUE_SPEC.runbooks * opts.scale)),
    runs: Math.round(ISSUE_SPEC.runs * opts.scale),
    drills: Math.round(ISSUE_SPEC.drills * opts.scale),
    alerts: Math.round(ISSUE_SPEC.alerts * opts.scale),
    openAlertsPerRunbook: ISSUE_SPEC.openAlertsPerRunbook,
  };
  fs.mkdirSync(DATA_DIR, { recursive: true });
  // A folder of its own per run (the local bench clears bench/.data/work when it starts).
  const work = fs.mkdtempSync(path.join(DATA_DIR, 'work-store-'));
  const cpus = os.cpus();
  console.log(`store bench: ${spec.runbooks} runbooks, ${spec.runs.toLocaleString('en')} runs, ${spec.drills.toLocaleString('en')} drills, ${spec.alerts.toLocaleString('en')} alerts`);
  console.log(`machine: ${cpus.length} × ${cpus[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, PostgreSQL ${path.basename(path.dirname(bin))}`);

  const runbooksDir = path.join(work, 'runbooks');
  fs.mkdirSync(runbooksDir);
  for (let i = 0; i < spec.runbooks; i++) fs.writeFileSync(path.join(runbooksDir, `${runbookName(i)}.yaml`), runbookYaml(i));
  const entries = await listRunbooks({ runbooksDir, home: work, cwd: work });
  const runbooks = entries.map((e) => {
    if (!e.runbook) throw new Error(`bench runbook ${e.name} does not validate: ${JSON.stringify(e.issues)}`);
    return e.runbook;
  });

  let cluster: PostgresCluster | undefined;
  const timings: Timing[] = [];
  try {
    let url = opts.url;
    if (url === undefined) {
      cluster = await startPostgres(bin, work);
      cluster.sql('postgres', 'CREATE DATABASE bench');
      url = `postgres://${cluster.user}@127.0.0.1:${cluster.port}/bench`;
    }
    // Age-bounded, as a team store with store.keep would be: 2,000 runs per runbook is past the count limits.
    const pg = await openPostgresStore(url, { migrate: true, countLimits: false });
    const now = new Date();
    const { default: pgLib } = await import('pg');
    const admin = new pgLib.Pool({ connectionString: url, max: 1 });
    try {
      let t = performance.now();
      if (opts.url === undefined) await generateInPostgres(admin, spec, now);
      const size = (await admin.query<{ s: string }>(`SELECT pg_size_pretty(pg_database_size(current_database())) AS s`)).rows[0]?.s;
      const took = `${((performance.now() - t) / 1000).toFixed(1)} s`;
      console.log(opts.url === undefined ? `generated in PostgreSQL in ${took} (database ${size})` : `the database at --url, as generated (${size})`);
      t = performance.now();
      const state = await stateAtLimits(admin, now);
      const home = path.join(work, 'json-home');
      fs.mkdirSync(home);
      fs.writeFileSync(path.join(home, 'state.json'), state.text);
      console.log(
        `JSON state file at its limits: ${Object.entries(state.counts).map(([k, v]) => `${v.toLocaleString('en')} ${k}`).join(', ')}; ${(state.text.length / 2 ** 20).toFixed(1)} MiB (written in ${((performance.now() - t) / 1000).toFixed(1)} s)`,
      );
      if (opts.only !== 'json') {
        const writer = await openPostgresStore(url, { countLimits: false });
        // As a one-shot command opens it (src/cli/main.ts): at most COMMAND_STORE_CONNECTIONS connections.
        const fresh = () => openPostgresStore(url, { countLimits: false, pool: { max: COMMAND_STORE_CONNECTIONS } });
        timings.push(...(await timeOperations('postgres', pg, work, runbooksDir, runbooks, opts, { land: await landingRuns(writer, runbooks.length), fresh })));
        await writer.close();
      }
      await pg.close();
      if (opts.only !== 'postgres') {
        const json = await openJsonStore(home);
        const writer = await openJsonStore(home);
        // Seconds a call at its limits: one warm-up, at least 3 timed (p99 is then the max).
        const jsonOpts = { ...opts, budgetS: Math.min(opts.budgetS, 30), minIterations: 3, warmups: 1 };
        timings.push(...(await timeOperations('json', json, work, runbooksDir, runbooks, jsonOpts, { land: await landingRuns(writer, runbooks.length) })));
        await writer.close();
        await json.close();
      }
    } finally {
      await admin.end();
    }
  } finally {
    cluster?.stop();
    if (!opts.keep) fs.rmSync(work, { recursive: true, force: true });
  }

  console.log('');
  console.log(table(timings, spec));
  const missed = timings.filter((t) => t.store === 'postgres' && t.op !== 'status command' && t.p99Ms > TARGET_P99_MS);
  console.log(
    missed.length === 0
      ? `PostgreSQL: every store operation under the ${TARGET_P99_MS} ms p99 target.`
      : `PostgreSQL: over the ${TARGET_P99_MS} ms p99 target: ${missed.map((t) => t.op).join(', ')}.`,
  );
  return 0;
}

/** Markdown, one row per operation, a column pair per store. */
function table(timings: readonly Timing[], spec: StoreDataSpec): string {
  const ops = [...new Set(timings.map((t) => t.op))];
  const stores = (['postgres', 'json'] as const).filter((s) => timings.some((t) => t.store === s));
  const label = { postgres: `PostgreSQL (${spec.runs.toLocaleString('en')} runs)`, json: 'JSON (at its limits)' };
  const lines = [
    `| operation | ${stores.map((s) => `${label[s]} median | p99`).join(' | ')} |`,
    `|---|${stores.map(() => '---:|---:').join('|')}|`,
  ];
  for (const op of ops) {
    const cells = stores.map((s) => {
      const t = timings.find((x) => x.store === s && x.op === op);
      return t ? `${fmt(t.medianMs)} | ${fmt(t.p99Ms)}` : '— | —';
    });
    lines.push(`| ${op} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}
