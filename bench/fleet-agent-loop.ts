/**
 * One real `lifeboat agent` and a driver that queues its jobs directly (no
 * serve, no scheduler, no minute to wait for): the agent's CPU per tiny backup
 * job in steady state, from /proc/<pid>/stat, with PostgreSQL's CPU, the
 * sessions opened and the statements per job. For profiling the agent's
 * per-job cost between fleet bench runs (docs/fleet-scale.md); the fleet bench
 * (bench/fleet.ts) remains the measure of issue 19.
 *
 *   npm run build && npx tsx bench/fleet-agent-loop.ts [--runbooks 3] [--warm 3] [--rounds 10] [--gap-s 0] [--cpu-prof DIR]
 *
 * A round queues one backup of each runbook at once (as a host's minute does)
 * and waits for all of them; --gap-s waits between rounds (a fleet's minute
 * leaves its connections idle). Warm rounds (the first derives each
 * repository's key) are not measured. Sources: the fleet bench's ~6 KB of
 * three unchanged files.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FleetQueue, hostWakeChannel, listRunbooks, PgChannels, sha256Hex, type FleetJob } from '../src/core/index.js';
import { initRunbookRepository } from '../src/core/repo/open-repository.js';
import { startPostgres } from '../test/helpers/drill-postgres.js';
import { postgresBinFor, UsageError } from './bench-args.js';
import { BENCH_DIR, DATA_DIR } from './dataset.js';
import { postgresCpuS, procTimes } from './fleet.js';

const LIFEBOAT = path.join(path.dirname(BENCH_DIR), 'bin', 'lifeboat.js');
const PASSWORD = 'agent-loop-password';
const HOST = 'h01';

function options(argv: string[]): { runbooks: number; warm: number; rounds: number; gapS: number; jobs?: number; cpuProf?: string } {
  const o: { runbooks: number; warm: number; rounds: number; gapS: number; jobs?: number; cpuProf?: string } = { runbooks: 3, warm: 3, rounds: 10, gapS: 0 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    const n = Number(value);
    const int = (min: number) => {
      if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} wants an integer of at least ${min}, got "${value}"`);
      return n;
    };
    if (flag === '--runbooks') o.runbooks = int(1);
    else if (flag === '--warm') o.warm = int(1);
    else if (flag === '--rounds') o.rounds = int(1);
    else if (flag === '--gap-s') o.gapS = int(0);
    else if (flag === '--jobs') o.jobs = int(1);
    else if (flag === '--cpu-prof') o.cpuProf = path.resolve(value);
    else throw new UsageError(`unknown option "${flag}" (--runbooks, --warm, --rounds, --gap-s, --jobs, --cpu-prof)`);
  }
  return o;
}

async function main(): Promise<number> {
  let o;
  try {
    o = options(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(e.message);
    return 2;
  }
  const bin = postgresBinFor('fleet agent loop');
  if (bin === undefined) return 2;
  fs.mkdirSync(DATA_DIR, { recursive: true });
  const work = fs.mkdtempSync(path.join(DATA_DIR, 'work-agent-loop-'));
  const pg = await startPostgres(bin, work);
  let agent: ReturnType<typeof spawn> | undefined;
  try {
    pg.sql('postgres', `ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`);
    pg.stop();
    pg.start();
    pg.sql('postgres', 'CREATE DATABASE fleet');
    pg.sql('fleet', 'CREATE EXTENSION pg_stat_statements');
    const url = `postgres://${pg.user}@127.0.0.1:${pg.port}/fleet`;
    const postmaster = Number(fs.readFileSync(path.join(pg.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const env = (more: Record<string, string>) => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LIFEBOAT_STORE_URL: url, LIFEBOAT_PASSWORD: PASSWORD, ...more });
    const consoleRunbooks = path.join(work, 'console');
    fs.mkdirSync(consoleRunbooks);
    const names: string[] = [];
    for (let j = 0; j < o.runbooks; j++) {
      const name = `${HOST}-rb${String(j + 1).padStart(2, '0')}`;
      names.push(name);
      const src = path.join(work, 'src', name);
      fs.mkdirSync(path.join(src, 'etc'), { recursive: true });
      fs.writeFileSync(path.join(src, 'etc', 'app.conf'), `# ${name} on ${HOST}\nlisten = 127.0.0.1:${8000 + j}\nworkers = 4\n`.repeat(40));
      fs.writeFileSync(path.join(src, 'etc', 'hosts'), `127.0.0.1 localhost\n127.0.1.1 ${HOST}\n`);
      fs.writeFileSync(path.join(src, 'notes.txt'), `runbook ${name}: fleet bench source\n`.repeat(80));
      const yaml = [`name: ${name}`, `host: ${HOST}`, 'sources:', '  - name: files', `    path: ${src}`, 'repository:', '  hot:', `    url: file://${path.join(work, 'repos', name)}`, '  password:', '    env: LIFEBOAT_PASSWORD', 'objectives:', '  rpo: 26h', '  rto: 5m', ''];
      fs.writeFileSync(path.join(consoleRunbooks, `${name}.yaml`), yaml.join('\n'));
    }
    const migrate = spawn(process.execPath, [LIFEBOAT, 'store', 'migrate'], { cwd: work, env: env({ LIFEBOAT_HOME: path.join(work, 'console-home') }), stdio: 'ignore' });
    if ((await new Promise((resolve) => migrate.on('close', resolve))) !== 0) throw new Error('lifeboat store migrate failed');
    for (const entry of await listRunbooks({ runbooksDir: consoleRunbooks, home: path.join(work, 'console-home'), cwd: work })) {
      if (!entry.runbook) throw new Error(`runbook ${entry.name} does not validate`);
      await initRunbookRepository(entry.runbook, { env: { LIFEBOAT_PASSWORD: PASSWORD } });
    }
    fs.mkdirSync(path.join(work, HOST, 'runbooks'), { recursive: true });
    const prof = o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProf}`, '--cpu-prof-name=agent-loop.cpuprofile'] : [];
    const started = spawn(process.execPath, [...prof, LIFEBOAT, 'agent', '--host', HOST], {
      cwd: path.join(work, HOST),
      env: env({ LIFEBOAT_HOME: path.join(work, HOST, 'home'), LIFEBOAT_RUNBOOKS: path.join(work, HOST, 'runbooks'), ...(o.jobs === undefined ? {} : { LIFEBOAT_AGENT_JOBS: String(o.jobs) }) }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent = started;
    let out = '';
    started.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    started.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    for (let waited = 0; !/taking jobs/.test(out); waited += 50) {
      if (waited > 60_000 || started.exitCode !== null) throw new Error(`the agent did not start:\n${out}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const queue = await FleetQueue.open(url);
    const channels = new PgChannels(url);
    const contents = new Map(names.map((n) => [n, fs.readFileSync(path.join(consoleRunbooks, `${n}.yaml`), 'utf8')]));
    const round = () =>
      Promise.all(
        names.map(async (name) => {
          const content = contents.get(name)!;
          const job: FleetJob = { v: 1, kind: 'backup', args: { runbook: name }, argv: [name], runbook: { name, host: HOST, content, sha256: sha256Hex(content) }, actor: { face: 'cli', user: 'agent-loop' }, requestedAt: new Date().toISOString() };
          const id = randomUUID();
          await queue.dispatch(job, id);
          await channels.notify(hostWakeChannel(HOST), id);
          for (;;) {
            const s = await queue.status(HOST, id);
            if (s && ['completed', 'failed', 'cancelled'].includes(s.state)) {
              if (s.state !== 'completed' || (s.output as { exitCode?: number } | undefined)?.exitCode !== 0) throw new Error(`job of ${name} ended ${s.state}: ${JSON.stringify(s.output)}`);
              return;
            }
            await new Promise((resolve) => setTimeout(resolve, 25));
          }
        }),
      );
    for (let i = 0; i < o.warm; i++) await round();
    // The deferred record writes and the coalesced heartbeat of the warm rounds land before the count starts.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const sessions = () => Number(pg.sql('fleet', `SELECT sessions FROM pg_stat_database WHERE datname = 'fleet'`).trim());
    pg.sql('fleet', 'SELECT pg_stat_statements_reset()');
    // The peak RSS from here on (the warm rounds' key derivations are not the steady state): 5 resets VmHWM (proc(5)).
    fs.writeFileSync(`/proc/${started.pid}/clear_refs`, '5');
    const before = { agent: procTimes(started.pid!)!.self, pg: postgresCpuS(postmaster), sessions: sessions(), at: Date.now() };
    for (let i = 0; i < o.rounds; i++) {
      await round();
      if (o.gapS > 0) await new Promise((resolve) => setTimeout(resolve, o.gapS * 1000));
    }
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const after = { agent: procTimes(started.pid!)!.self, pg: postgresCpuS(postmaster), sessions: sessions(), at: Date.now() };
    // The driver's own status polls are left out: they are not the fleet's (serve waits for a NOTIFY).
    const calls = Number(pg.sql('fleet', `SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'fleet') AND query NOT LIKE '%pg_stat%' AND query NOT LIKE 'SELECT id, name, data, EXTRACT%'`).trim());
    const jobs = o.rounds * names.length;
    console.log(`agent loop: ${names.length} runbook(s), ${o.rounds} measured round(s) after ${o.warm} warm, gap ${o.gapS} s: ${jobs} jobs in ${((after.at - before.at) / 1000).toFixed(1)} s`);
    console.log(`per job: agent ${(((after.agent - before.agent) * 1000) / jobs).toFixed(0)} ms CPU, PostgreSQL ${(((after.pg - before.pg) * 1000) / jobs).toFixed(0)} ms CPU (driver's polls included), ${(calls / jobs).toFixed(1)} statements (driver's polls left out), ${((after.sessions - before.sessions) / jobs).toFixed(2)} sessions opened`);
    // Peak resident memory of the agent over the measured rounds, and its threads now (repository workers kept idle included).
    const status = fs.readFileSync(`/proc/${started.pid}/status`, 'utf8');
    const field = (name: string) => /^(\S+):\s+(\d+)/m.exec(status.split('\n').find((l) => l.startsWith(`${name}:`)) ?? '')?.[2] ?? '?';
    console.log(`agent (--jobs ${o.jobs ?? 'default'}): peak RSS over the measured rounds ${(Number(field('VmHWM')) / 1024).toFixed(0)} MiB, RSS now ${(Number(field('VmRSS')) / 1024).toFixed(0)} MiB, ${field('Threads')} threads`);
    await channels.close();
    await queue.stop();
    return 0;
  } finally {
    if (agent && agent.exitCode === null) {
      const ended = new Promise((resolve) => agent!.on('close', resolve));
      agent.kill('SIGTERM');
      const kill = setTimeout(() => agent!.kill('SIGKILL'), 20_000);
      await ended;
      clearTimeout(kill);
    }
    pg.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

process.exitCode = await main();
