/**
 * `lifeboat agent` as a host, like serve (src/serve/serve-host.ts): the CLI
 * launches it with the process's context and the command registry, and every
 * job runs through that registry's invoker (run-job.ts), so an agent runs a
 * command exactly as the CLI on that host would.
 *
 * Lifecycle:
 * - refuses to start without the PostgreSQL store (the JSON store has no
 *   fleet), with a bad --host, or when the queue cannot be reached;
 * - jobs its previous life left active are failed first ("agent restarted"):
 *   one agent per host name, so nobody else is running them;
 * - heartbeats through the hosts registry every --heartbeat, with the job in
 *   hand (and its run id once started), best effort: a store outage is told
 *   once, and the beats resume with the store;
 * - takes jobs from its host's queue, up to --jobs (default 32: all a host's
 *   minute sends) of different runbooks at once, each started as soon as it
 *   is taken (the queue never hands out two of one runbook): at once when a
 *   dispatcher wakes it (LISTEN) or a job ends, else every --poll;
 * - a take that failed may have committed with its answer lost (a store
 *   outage at that moment): once takes work again, the host's jobs active in
 *   the queue but not in hand are failed, instead of their dispatchers
 *   waiting for pg-boss to expire them a day later;
 * - SIGTERM: takes no new job, lets the one in hand finish for up to
 *   --shutdown-deadline, then cancels it (the run ends cancelled, its job is
 *   settled with that result), and exits 0. Finishing first is serve's rule
 *   too: a restart for an upgrade should not throw away an hour of backup.
 * - A store outage mid-run: the run goes on, its records are spooled by the
 *   store (src/core/store/spool/) and replayed; the job is settled once the
 *   queue is back. Nothing in the loop lets an outage end the process.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { CommandContext, CommandResult } from '../../commands/command.js';
import {
  ExitCode,
  FleetQueue,
  hostWakeChannel,
  keepIdleRepositoryWorker,
  LIFEBOAT_VERSION,
  LifeboatError,
  localHostName,
  openConfiguredStore,
  openHostRegistry,
  PgChannels,
  rememberDerivedKeys,
  SpoolingStore,
  storeSetting,
  storeUrl,
  type HostBeat,
  type HostRegistry,
  type TakenJob,
} from '../core/index.js';
import { parseAgentArgs } from './agent-args.js';
import { runJob, type AgentRegistry } from './run-job.js';

export async function runAgentHost(argv: string[], registry: AgentRegistry, given: CommandContext): Promise<CommandResult> {
  const args = parseAgentArgs(argv, given.env);
  const host = args.host ?? localHostName(given.env);
  // Everything this process runs is this host's: runs record it, and a runbook of this host is never dispatched again.
  const env = { ...given.env, LIFEBOAT_HOST: host };
  const log = (message: string, level: 'info' | 'warn' | 'error' = 'info') => given.emit({ type: 'log', level, message });
  const setting = storeSetting({ config: given.config, env, home: given.home });
  if (setting.kind === 'json') {
    throw new LifeboatError(
      'USAGE',
      `lifeboat agent needs the PostgreSQL store, where its jobs are queued: set store.url in lifeboat.yaml or LIFEBOAT_STORE_URL (this host uses the JSON store at ${setting.path})`,
    );
  }
  const url = await storeUrl(setting, env);
  // The store the jobs record into, opened now so a refused password or an outdated schema stops the agent at start;
  // its connections kept between jobs (see AGENT_IDLE_CONNECTION_MS), at most one per job it may run (up to STORE_CONNECTIONS) and one for the spool's replay.
  const store = await openConfiguredStore({
    config: given.config,
    env,
    home: given.home,
    keepIdleConnectionsMs: AGENT_IDLE_CONNECTION_MS,
    maxConnections: Math.min(args.jobs, STORE_CONNECTIONS) + 1,
    onWarning: (message) => log(message, 'warn'),
  });
  const ctx: CommandContext = { ...given, env, store: () => Promise.resolve(store) };
  // The same repositories every minute: their password-derived keys are kept for the agent's life, not derived per job.
  rememberDerivedKeys();
  // Hundreds of small backups: one repository worker thread is kept between them instead of started per job (worker-pool.ts).
  keepIdleRepositoryWorker();
  // A job's runbook is read as a file of this folder (job-runbook.ts): hooks and checks start there, so it must exist.
  await mkdir(path.resolve(ctx.cwd, ctx.runbooksDir), { recursive: true }).catch((e: unknown) =>
    log(`agent ${host}: cannot create the runbooks folder ${ctx.runbooksDir} (${(e as Error).message}); hooks of its jobs will fail to start there`, 'warn'),
  );
  const opened = async () => {
    const queue = await FleetQueue.open(url, { supervise: true }).catch((e: unknown) => {
      throw new LifeboatError('BACKEND_UNAVAILABLE', `lifeboat agent ${host}: the job queue cannot be opened: ${(e as Error).message}`, { cause: e, retryable: true });
    });
    return { queue, hosts: await openHostRegistry({ config: ctx.config, env, home: ctx.home }).catch(async (e: unknown) => { await queue.stop(); throw e; }) };
  };
  const { queue, hosts } = await opened().catch(async (e: unknown) => {
    await store.close().catch(() => undefined);
    throw e;
  });
  const channels = new PgChannels(url);
  let jobsRun = 0;
  let beatTimer: NodeJS.Timeout | undefined;
  let stopBeats: () => void = () => undefined;
  try {
    const orphans = await queue.failActive(host, `agent restarted on ${host}: the job it was running when it stopped did not finish`);
    if (orphans.length > 0) log(`agent ${host}: ${orphans.length} job(s) left running by this agent's previous process failed: ${orphans.join(', ')}`, 'warn');

    // Records spooled during an outage go to the store once it answers again, not at the next job (which may be a day away).
    const catchUp = store instanceof SpoolingStore ? () => void store.replay().catch(() => undefined) : () => undefined;
    const beats = heartbeats(hosts, host, log, catchUp);
    stopBeats = () => beats.stop();
    await beats.beat();
    beatTimer = setInterval(() => void beats.beat(), args.heartbeatMs);

    // Stopping: no new job at once; the job in hand gets the deadline, then its cancel.
    const deadline = new AbortController();
    let wake: () => void = () => undefined;
    const onStop = () => {
      log(`agent ${host}: stopping; the running jobs (if any) may finish within ${Math.round(args.shutdownDeadlineMs / 1000)} s`);
      wake();
      setTimeout(() => deadline.abort(), args.shutdownDeadlineMs).unref();
    };
    if (ctx.signal.aborted) onStop();
    else ctx.signal.addEventListener('abort', onStop, { once: true });
    const stopWaking = await channels.listen(hostWakeChannel(host), () => wake());
    log(`lifeboat agent ${LIFEBOAT_VERSION}: host ${host}, taking jobs from its queue (up to ${args.jobs} at once, heartbeat every ${args.heartbeatMs / 1000} s)`);

    // Jobs in hand, by job id: up to --jobs of different runbooks at once (the queue never hands out two of one).
    const inHand = new Map<string, Promise<void>>();
    /** The last take failed: its answer may have been lost after it committed (see the check after the next take). */
    let takeFailed = false;
    /** What each job in hand told the heartbeat; the beat carries the latest started (the registry keeps one). */
    const told = new Map<string, NonNullable<HostBeat['runningJob']>>();
    const start = (taken: TakenJob) => {
      const run = runJob(taken, {
        host,
        queue,
        channels,
        registry,
        ctx,
        running: (job) => {
          if (job) told.set(taken.id, job);
          else told.delete(taken.id);
          beats.runningJob = [...told.values()].pop() ?? null;
          beats.soon();
        },
        stop: deadline.signal,
        keepTrying: () => !deadline.signal.aborted,
      })
        .then(() => void jobsRun++)
        .catch((e: unknown) => log(`agent ${host}: job ${taken.id} ended with an error of the agent's own: ${(e as Error).message ?? String(e)}`, 'error'))
        .finally(() => inHand.delete(taken.id));
      inHand.set(taken.id, run);
    };
    while (!ctx.signal.aborted) {
      const woken = new Promise<void>((resolve) => (wake = resolve));
      const free = args.jobs - inHand.size;
      if (free <= 0) {
        // Full: a finished job makes room (or the stop).
        await Promise.race([woken, ...inHand.values()]);
        continue;
      }
      let taken: TakenJob[];
      try {
        taken = await queue.takeUpTo(host, free);
      } catch (e) {
        if (!takeFailed) log(`agent ${host}: cannot take jobs from the queue (${(e as Error).message}); trying again every ${args.pollMs / 1000} s`, 'warn');
        takeFailed = true;
        taken = [];
      }
      for (const t of taken) start(t);
      if (takeFailed && !ctx.signal.aborted) {
        // A take that failed may have failed only in its answer: committed, its jobs active for this host and never seen here.
        // Nobody else takes this host's jobs, so an active job not in hand is one of those: failed, so its dispatcher hears now, not at expiry.
        const lost = await queue.failActive(host, `the agent on ${host} never received this job: the queue's answer was lost (the store went away while the job was being taken); it did not run`, [...inHand.keys()]).catch(() => undefined);
        if (lost !== undefined) {
          takeFailed = false;
          log(`agent ${host}: taking jobs again${lost.length > 0 ? `; ${lost.length} job(s) taken while the store went away, never received here, failed: ${lost.join(', ')}` : ''}`, lost.length > 0 ? 'warn' : 'info');
        }
      }
      if (taken.length === free) continue;
      // The queue had fewer than we could run: wait for a wake-up, the poll, or room made by a job ending.
      const poll = delay(args.pollMs);
      await Promise.race([woken, poll.done, ...inHand.values()]);
      poll.cancel();
    }
    // Stopping: the jobs in hand finish (or are cancelled at the deadline) before the agent lets go of the queue.
    await Promise.all(inHand.values());
    await stopWaking();
  } finally {
    if (beatTimer) clearInterval(beatTimer);
    stopBeats();
    await channels.close();
    await queue.stop();
    await hosts?.close().catch(() => undefined);
    await store.close().catch(() => undefined);
  }
  return { exitCode: ExitCode.ok, summary: `agent ${host} stopped: ${jobsRun} job(s) run` };
}

/**
 * How long the agent keeps an idle store connection: a fleet's jobs come in
 * bursts (every runbook of the host at its minute), and pg's default of 10 s
 * closed every connection between them, so each burst connected again — a
 * server process forked and its catalog caches filled per connection, the
 * largest part of PostgreSQL's CPU per job at a minute's cadence (bench/fleet.ts).
 * What it costs: up to STORE_CONNECTIONS + 1 idle sessions per agent held this long.
 */
const AGENT_IDLE_CONNECTION_MS = 5 * 60_000;

/**
 * The store connections an agent's jobs share: a tiny job's record writes
 * are a few milliseconds each, so 25 jobs at once wait their turn on 5 rather
 * than hold 25 (x 20 agents: past the server's max_connections, each a
 * server process). The pool's waiters give up after the connect timeout
 * (5 s), and a record write that gives up is spooled, not lost.
 */
const STORE_CONNECTIONS = 5;

/** How soon a change of the jobs in hand reaches the hosts registry (the periodic beat may carry it sooner). */
const CHANGE_BEAT_MS = 1_000;

/** The agent's beats: best effort, an outage said once and its end said once. */
function heartbeats(hosts: HostRegistry | undefined, host: string, log: (message: string, level?: 'info' | 'warn' | 'error') => void, answered: () => void) {
  let failing = false;
  let inFlight: Promise<void> | undefined;
  let again = false;
  let soon: NodeJS.Timeout | undefined;
  let stopped = false;
  const state = {
    runningJob: null as HostBeat['runningJob'],
    /**
     * A change of the job in hand (started, its run id, ended), told within
     * CHANGE_BEAT_MS in one beat: a tiny job's three changes came within a
     * second, each its own upsert of the host's row.
     */
    soon(): void {
      soon ??= setTimeout(() => {
        soon = undefined;
        void state.beat();
      }, CHANGE_BEAT_MS);
      soon.unref();
    },
    /** No beat from now on (the registry is about to close). */
    stop(): void {
      stopped = true;
      clearTimeout(soon);
    },
    async beat(): Promise<void> {
      if (!hosts || stopped) return;
      clearTimeout(soon);
      soon = undefined;
      // One beat at a time: a slow store must not pile them up; a change meanwhile (a job's run id) goes in one more.
      if (inFlight) {
        again = true;
        return;
      }
      const beat: HostBeat = { name: host, version: LIFEBOAT_VERSION, platform: `${process.platform} ${process.arch}`, pid: process.pid, runningJob: state.runningJob };
      inFlight = hosts
        .heartbeat(beat)
        .then(() => {
          if (failing) log(`agent ${host}: heartbeats reach the store again`);
          failing = false;
          answered();
        })
        .catch((e: unknown) => {
          if (!failing) log(`agent ${host}: heartbeat failed (${(e as Error).message}); jobs go on, beats resume with the store`, 'warn');
          failing = true;
        })
        .finally(() => {
          inFlight = undefined;
          if (again) {
            again = false;
            void state.beat();
          }
        });
      await inFlight;
    },
  };
  return state;
}

/** A wait that can be cleared, so a stopping agent does not sit out its poll interval. */
function delay(ms: number): { done: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return { done, cancel: () => clearTimeout(timer) };
}
