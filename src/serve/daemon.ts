/**
 * `lifeboat serve`: one long-running process that keeps the runbooks'
 * promises without a person. It wires parts that each do one job:
 *
 *   RunbookCatalog  last good runbooks, re-read on change / SIGHUP
 *   Scheduler       cron fires → jobs (backup, verify, drill, tier), catch-up, overlap skip
 *   jobs            each job is a command of the registry serve was given, with typed
 *                   arguments (scheduled-jobs.ts), as actor "scheduler"
 *   stale timer     alert rules every minute (an RPO passes without any run)
 *   outbox loop     delivers alert transitions to the sinks serve can build, whichever
 *                   process wrote them (src/core/notify/outbox.ts): every second, and at
 *                   once when serve itself wrote one
 *   ops server      /metrics and /healthz on 127.0.0.1
 *   Slack face      optional: slash commands, alerts, drill announcements
 *
 * Shutdown (SIGTERM, SIGINT): stop taking work, let running jobs finish up to
 * the deadline, then cancel them — a cancelled backup leaves the repository as
 * a SIGKILL would at worst (nothing visible before it is durable) and records
 * itself `cancelled`.
 */
import type { Command, CommandContext, CommandResult } from '../../commands/command.js';
import type { Invocation } from '../../commands/invoke.js';
import {
  compactDuration,
  describeSkip,
  evaluateAll,
  eventNotifier,
  ExitCode,
  FileScheduleState,
  isStoreUnreachable,
  LifeboatError,
  newRecordId,
  outboxOwner,
  RunLock,
  scheduleStatePath,
  Scheduler,
  systemTimers,
  type Actor,
  type EngineEvent,
  startOutboxLoop,
  type Job,
  Leadership,
  type LeadershipView,
  openHostRegistry,
  openServeCoordination,
  type OutboxLoop,
  type ScheduleState,
  type Runbook,
  type Sink,
  type SkipReason,
  type Store,
} from '../core/index.js';
import { createMetrics } from './metrics.js';
import { storeUnreadableReason } from './ops-health.js';
import { startOpsServer, type OpsServer } from './ops-server.js';
import { RunbookCatalog } from './runbook-catalog.js';
import type { DrillAnnouncer, DrillThread } from './drill-announcer.js';
import { pacedClaims } from './paced-claims.js';
import { commandOfKind, scheduledInvocation } from './scheduled-jobs.js';
import { startAgentWatch, type AgentWatchTimer } from './agent-watch.js';
import { registerAgentMetrics } from './metrics-agents.js';

/**
 * The commands serve runs, handed in by whoever launched it (src/cli/main.ts
 * passes commands/index.ts), so serve never imports the registry that lists
 * the commands and no import circle runs through it.
 */
export interface CommandRegistry {
  findCommand(name: string): Command<unknown> | undefined;
  invokeCommand(inv: Invocation, ctx: CommandContext): Promise<CommandResult>;
}

export interface ServeOptions {
  /** serve's own context (built by the CLI, secrets kept in by serve-host.ts): store, clock, env, locations, the stop signal, the log sink. */
  ctx: CommandContext;
  registry: CommandRegistry;
  /** Where /metrics and /healthz listen; undefined = not at all. */
  ops?: { host: string; port: number };
  /** A missed fire runs once at start-up when it is at most this old. */
  graceMs: number;
  jitterMs: number;
  /** How long running jobs may go on after a stop was asked for, before they are cancelled. */
  shutdownDeadlineMs: number;
  /** How often the alert rules run with no run to trigger them (stale backups). */
  staleCheckMs: number;
  /**
   * The sinks serve can build for these runbooks (called again when they
   * change): alerts reach people only through them, from the outbox. Absent:
   * none, and deliveries wait for a process that has some.
   */
  buildSinks?(runbooks: readonly Runbook[]): Promise<{ sinks: ReadonlyMap<string, Sink>; unavailable: readonly { name: string; reason: string }[] }>;
  /** How often the outbox loop looks without being woken (default 1 s). */
  outboxIntervalMs?: number;
  announcer: DrillAnnouncer;
  /** Work started by other faces (Slack runs) that shutdown waits for, within the same deadline. */
  drain?(): Promise<void>;
  /**
   * Facts other parts add to /healthz (e.g. `slack: 'disconnected'`). They never make it unhealthy:
   * serve is fit to work while its scheduler runs, whatever a face's connection does.
   */
  healthDetails?(): Record<string, unknown>;
  /** Runs once the daemon is up (e.g. start the Slack face with the catalog's runbooks). */
  started?(daemon: RunningDaemon): Promise<void>;
  /** The leader's watch on the fleet's agents (PostgreSQL only): how often, after how much silence an agent is lost, and the grace of a host no agent serves. Defaults: 15 s, 60 s, 5 min. */
  agentWatch?: { intervalMs?: number; lostAfterMs?: number; noAgentGraceMs?: number };
}

export interface RunningDaemon {
  catalog: RunbookCatalog;
  ops?: OpsServer;
}

export interface ServeOutcome {
  jobsRun: number;
  jobsCancelled: number;
}

export async function serve(options: ServeOptions): Promise<ServeOutcome> {
  const { ctx } = options;
  const log = (level: 'info' | 'warn' | 'error', message: string) => ctx.emit({ type: 'log', level, message });
  const lock = await acquireServeLock(ctx.home, ctx.clock);
  try {
    return await serveLocked(options, log);
  } finally {
    await lock.release();
  }
}

/**
 * One serve per state folder: two would both fire every schedule (each job
 * would then fail on the run lock, or worse, run twice back to back) and share
 * one schedule state file. `_serve` cannot clash with a runbook's kebab-case name.
 */
async function acquireServeLock(home: string, clock: CommandContext['clock']): Promise<RunLock> {
  try {
    return await RunLock.acquire(home, { runbook: '_serve', startedAt: clock.now().toISOString(), by: 'lifeboat serve' });
  } catch (e) {
    const holder = (e as LifeboatError).details?.holder as { pid?: number; host?: string; startedAt?: string } | undefined;
    if (e instanceof LifeboatError && e.code === 'RUN_LOCKED' && holder) {
      throw new LifeboatError('RUN_LOCKED', `another lifeboat serve already runs on ${home}: pid ${holder.pid} on ${holder.host} since ${holder.startedAt}`, { details: { holder } });
    }
    throw e;
  }
}

async function serveLocked(options: ServeOptions, log: (level: 'info' | 'warn' | 'error', message: string) => void): Promise<ServeOutcome> {
  /** `pending`: deliveries of serve's sinks still owed after the last pass (for /healthz). */
  const outbox: { loop?: OutboxLoop; sinks: ReadonlyMap<string, Sink>; pending?: number; storeDown?: boolean } = { sinks: new Map() };
  // Every store write of serve's own (jobs, the timer, the catalog) that owes people a message wakes the outbox loop.
  const store = wakingOnTransitions(await options.ctx.store(), () => outbox.loop?.wake());
  const ctx: CommandContext = { ...options.ctx, store: async () => store };
  // In-process display only (the log); people are told through the outbox.
  const notifier = eventNotifier(ctx.emit);
  const scheduler: { current?: Scheduler } = {};
  /** Builds run one after another, so an older set never replaces a newer one. */
  let building = Promise.resolve();
  const rebuildSinks = (runbooks: readonly Runbook[]) => {
    const build = options.buildSinks;
    if (!build) return;
    building = building.then(async () => {
      try {
        const built = await build(runbooks);
        outbox.sinks = built.sinks;
        outbox.loop?.wake();
        const unavailable = built.unavailable.map((u) => `${u.name} (${u.reason})`).join(', ');
        log(unavailable ? 'warn' : 'info', `lifeboat serve: alert sinks: ${[...built.sinks.keys()].join(', ') || 'none'}${unavailable ? `; not here: ${unavailable} — their deliveries wait for a process that has them` : ''}`);
      } catch (e) {
        log('warn', `lifeboat serve: alert sinks not built (deliveries wait in the outbox): ${(e as Error).message}`);
      }
    });
  };
  const catalog = new RunbookCatalog({
    locations: { runbooksDir: ctx.runbooksDir, home: ctx.home, cwd: ctx.cwd },
    store: ctx.store,
    notifier,
    clock: ctx.clock,
    config: ctx.config,
    onChange: (runbooks) => {
      scheduler.current?.setRunbooks(runbooks);
      rebuildSinks(runbooks);
      log('info', `lifeboat serve: ${runbooks.length} runbook(s) in service: ${runbooks.map((r) => r.name).join(', ') || 'none'}`);
    },
    log: (level, message) => log(level, message),
  });

  const threads = new Map<string, DrillThread>();
  const threadKey = (job: Job) => `${job.runbook}@${job.scheduledAt.toISOString()}`;
  const outcome: ServeOutcome = { jobsRun: 0, jobsCancelled: 0 };
  const actor: Actor = { face: 'scheduler', user: 'scheduler' };

  /** A job's alerts go to the log here; people hear of them through the outbox, which the job's store write woke. */
  const jobEvents = (job: Job) => (e: EngineEvent) => {
    if (e.type === 'alert.raised' || e.type === 'alert.resolved') {
      ctx.emit(e);
    } else if (e.type === 'log' && e.level !== 'debug') {
      ctx.emit({ ...e, message: `[${job.runbook} ${job.kind}] ${e.message}` });
    }
  };

  const runJob = async (job: Job, signal: AbortSignal): Promise<void> => {
    const runbook = catalog.get(job.runbook);
    const command = options.registry.findCommand(commandOfKind[job.kind]);
    if (!runbook || !command) {
      log('warn', `lifeboat serve: ${job.kind} of ${job.runbook} not run: ${runbook ? `no ${commandOfKind[job.kind]} command` : 'runbook no longer in service'}`);
      return;
    }
    const { args, argv } = scheduledInvocation(job.kind, runbook);
    const jobCtx: CommandContext = { ...ctx, actor, emit: jobEvents(job), signal, pinnedRunbook: (name) => catalog.get(name), knownRunbooks: () => catalog.current() };
    log('info', `lifeboat serve: ${job.kind} of ${job.runbook} started${job.catchUp ? ` (catch-up of ${job.scheduledAt.toISOString()})` : ''}`);
    const started = ctx.clock.monotonicMs();
    outcome.jobsRun++;
    const result = await options.registry.invokeCommand({ command, args, argv, where: 'schedule' }, jobCtx);
    if (result.exitCode === ExitCode.cancelled) outcome.jobsCancelled++;
    log(
      result.exitCode === ExitCode.ok ? 'info' : 'warn',
      `lifeboat serve: ${job.kind} of ${job.runbook} ended (exit ${result.exitCode}, ${compactDuration(ctx.clock.monotonicMs() - started)}): ${result.summary ?? ''}`,
    );
    if (job.kind === 'drill') await postDrillResult(job, result);
  };

  const postDrillResult = async (job: Job, result: CommandResult) => {
    const thread = threads.get(threadKey(job));
    threads.delete(threadKey(job));
    if (!thread) return;
    try {
      await options.announcer.result(thread, result);
    } catch (e) {
      log('warn', `lifeboat serve: drill result of ${job.runbook} not posted: ${(e as Error).message}`);
    }
  };

  const announce = async (job: Job): Promise<void> => {
    const runbook = catalog.get(job.runbook);
    if (!runbook) return;
    threads.set(threadKey(job), await options.announcer.announce(runbook, job.runAt));
  };

  const skipped = async (job: Job, reason: SkipReason): Promise<void> => {
    const line = describeSkip(job, reason);
    log('warn', `lifeboat serve: ${line}`);
    const now = ctx.clock.now();
    await store.appendAudit({
      id: newRecordId(ctx.clock),
      at: now.toISOString(),
      actor,
      command: commandOfKind[job.kind],
      args: [job.runbook],
      where: 'schedule',
      result: 'skipped',
      detail: line,
    });
  };

  /** Schedulers of earlier terms whose jobs may still run (shutdown waits for them too). */
  const retired = new Set<Scheduler>();
  const schedulers = () => [...(scheduler.current ? [scheduler.current] : []), ...retired];
  let staleTimer: NodeJS.Timeout | undefined;
  let agentWatch: AgentWatchTimer | undefined;
  const hostRegistry = await openHostRegistry({ config: ctx.config, env: ctx.env, home: ctx.home });

  /**
   * What only the leading serve does: the scheduler, the stale timer and the
   * outbox deliveries. With the JSON store this serve always leads; with
   * PostgreSQL, while it holds the lease (Leadership).
   */
  const startLeading = (state: ScheduleState) => {
    const sched = new Scheduler({
      clock: ctx.clock,
      timers: systemTimers,
      state,
      graceMs: options.graceMs,
      jitterMs: options.jitterMs,
      run: runJob,
      announce,
      skipped,
      notOurs: (job) => log('info', `lifeboat serve: ${job.kind} of ${job.runbook} at ${job.scheduledAt.toISOString()} not run here: another serve handled it, or this one no longer leads`),
      onError: (error, job) => log('error', `lifeboat serve: ${job.kind} of ${job.runbook}: ${(error as Error).message ?? String(error)}`),
    });
    sched.setRunbooks(catalog.current());
    scheduler.current = sched;
    sched.start();
    outbox.loop = startOutboxLoop({
      store,
      sinks: () => outbox.sinks,
      clock: ctx.clock,
      owner: outboxOwner(),
      intervalMs: options.outboxIntervalMs ?? 1_000,
      onProblem: (p) => log('warn', `lifeboat serve: alert ${p.delivery.transition} of ${p.delivery.alertKey} not delivered: ${p.message}`),
      onPass: (counts) => {
        outbox.pending = counts.left;
        if (outbox.storeDown) log('info', 'lifeboat serve: the state store answers again: alert deliveries go on');
        outbox.storeDown = false;
      },
      onError: (e) => {
        // The loop polls every second: an unreachable store is said once per outage, not every second.
        if (isStoreUnreachable(e)) {
          if (!outbox.storeDown) log('warn', `lifeboat serve: alert deliveries wait: ${(e as Error).message}`);
          outbox.storeDown = true;
          return;
        }
        log('warn', `lifeboat serve: alert deliveries: ${(e as Error).message ?? String(e)}`);
      },
    });
    staleTimer = setInterval(() => {
      // The timer's evaluation refreshes alerts without counting them again (evaluateAll's trigger is 'timer').
      void evaluateAll(catalog.current(), { store, clock: ctx.clock, notifier, config: ctx.config })
        .then((r) => r.errors.forEach((e) => log('warn', `lifeboat serve: alert rules for ${e.runbook} (${e.source}): ${e.message}`)))
        .catch((e: unknown) => log('warn', `lifeboat serve: alert rules failed: ${(e as Error).message}`));
    }, options.staleCheckMs);
    staleTimer.unref();
    if (hostRegistry) agentWatch = startAgentWatch({ ...options.agentWatch, registry: hostRegistry, store, clock: ctx.clock, notifier, config: ctx.config, runbooks: () => catalog.current(), log });
    const next = sched.upcoming(1)[0];
    log('info', `lifeboat serve: scheduler running${next ? `; next: ${next.kind} of ${next.runbook} at ${next.runAt.toISOString()}` : '; nothing scheduled'}`);
  };

  /** Takes no new work; jobs already running go on (their scheduler is kept until they end). */
  const stopLeading = async () => {
    const sched = scheduler.current;
    scheduler.current = undefined;
    if (staleTimer) clearInterval(staleTimer);
    staleTimer = undefined;
    await agentWatch?.stop();
    agentWatch = undefined;
    const loop = outbox.loop;
    outbox.loop = undefined;
    // Sends in flight are abandoned unrecorded: their claims lapse and the next deliverer sends them again.
    await loop?.stop();
    if (!sched) return;
    retired.add(sched);
    await sched.stop().catch(() => undefined);
    void sched.finished().then(() => retired.delete(sched));
  };

  const coordinated = await openServeCoordination({ config: ctx.config, env: ctx.env, home: ctx.home }, (e) =>
    log('warn', `lifeboat serve: a fire was not claimed (it waits for whoever leads when the store answers): ${(e as Error).message ?? String(e)}`),
  );
  const leadership = coordinated
    ? new Leadership({
        lease: coordinated.coordination,
        holder: outboxOwner(),
        ttlMs: coordinated.leaseMs,
        monotonicMs: () => performance.now(),
        // Claims wait their turn here, not in the store's two-connection pool where they time out (paced-claims.ts).
        elected: async (term) => startLeading(pacedClaims(await coordinated.coordination.scheduleState(term))),
        deposed: stopLeading,
        log,
      })
    : undefined;

  let stopping = false;
  const metrics = createMetrics({ store: ctx.store, runbooks: () => catalog.current(), clock: ctx.clock, home: ctx.home });
  if (hostRegistry) registerAgentMetrics(metrics.registry, { registry: hostRegistry, runbooks: () => catalog.current(), clock: ctx.clock, lostAfterMs: options.agentWatch?.lostAfterMs });
  let ops: OpsServer | undefined;
  const onHup = () => {
    log('info', 'lifeboat serve: SIGHUP: re-reading runbooks');
    void catalog.reload().catch((e: unknown) => log('warn', `lifeboat serve: runbook reload failed: ${(e as Error).message}`));
  };
  try {
    await catalog.reload(); // tells the scheduler its runbooks through onChange
    catalog.watch();
    process.on('SIGHUP', onHup);
    if (options.ops) {
      ops = await startOpsServer({
        host: options.ops.host,
        port: options.ops.port,
        registry: metrics.registry,
        health: async () => {
          const reasons: string[] = [];
          const storeProblem = await storeUnreadableReason(ctx.store);
          if (storeProblem) reasons.push(storeProblem);
          if (stopping) reasons.push('shutting down');
          return {
            ok: reasons.length === 0,
            reasons,
            details: {
              runbooks: catalog.current().length,
              ...(leadership ? leadershipDetails(leadership.view()) : {}),
              running: schedulers().flatMap((sc) => sc.running()).map((j) => `${j.runbook} ${j.kind}`),
              next: scheduler.current?.upcoming(1)[0]?.runAt.toISOString(),
              alertSinks: [...outbox.sinks.keys()],
              ...(outbox.pending !== undefined ? { alertDeliveriesPending: outbox.pending } : {}),
              ...options.healthDetails?.(),
            },
          };
        },
        onError: (e, path) => log('warn', `lifeboat serve: ${path}: ${(e as Error).message ?? String(e)}`),
      });
      log('info', `lifeboat serve: metrics on ${ops.url}/metrics, health on ${ops.url}/healthz`);
    }
    if (leadership) {
      log('info', `lifeboat serve: the store is shared (${coordinated!.coordination.where}): leading while holding its lease, else answering Slack, /metrics and /healthz only`);
      await leadership.start();
    } else {
      startLeading(await FileScheduleState.open(scheduleStatePath(ctx.home)));
    }
    await options.started?.({ catalog, ops });

    await untilAborted(ctx.signal);
    stopping = true;
    const running = schedulers().flatMap((sc) => sc.running());
    log('info', `lifeboat serve: stopping; ${running.length > 0 ? `waiting up to ${compactDuration(options.shutdownDeadlineMs)} for ${running.map((j) => `${j.kind} of ${j.runbook}`).join(', ')}` : 'nothing running'}`);
    // Gives the lease up at once, so another serve leads while this one's jobs finish.
    const draining = schedulers();
    if (leadership) await leadership.stop();
    else await stopLeading();
    const allFinished = () => Promise.all(draining.map((sc) => sc.finished()));
    const drained = Promise.all([allFinished(), options.drain?.()]).then(() => true);
    const finished = await Promise.race([drained, delay(options.shutdownDeadlineMs).then(() => false)]);
    if (!finished) {
      log('warn', 'lifeboat serve: shutdown deadline passed; cancelling running jobs');
      draining.forEach((sc) => sc.cancelRunning());
      await allFinished();
    }
    return outcome;
  } finally {
    stopping = true;
    process.off('SIGHUP', onHup);
    if (leadership) await leadership.stop().catch(() => undefined);
    await stopLeading().catch(() => undefined);
    await coordinated?.coordination.close();
    await hostRegistry?.close();
    await catalog.close();
    await ops?.close();
  }
}

/** /healthz: whether this serve leads, and who does when it does not. */
function leadershipDetails(view: LeadershipView): Record<string, unknown> {
  return { leader: view.leading, ...(view.leader !== undefined ? { leaderIs: view.leader } : {}) };
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** The store, with `onTransition` called after each alert write that owes sinks a delivery. */
function wakingOnTransitions(store: Store, onTransition: () => void): Store {
  const putAlert: Store['putAlert'] = async (alert, deliveries, options) => {
    const written = await store.putAlert(alert, deliveries, options);
    if (written && deliveries !== undefined && deliveries.length > 0) onTransition();
    return written;
  };
  // Every other method is the store's own, bound to it (the JSON store's methods use private fields).
  return new Proxy(store, {
    get(target, name) {
      if (name === 'putAlert') return putAlert;
      const value: unknown = Reflect.get(target, name, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
