/**
 * One fleet job on the agent: checked (shape, the runbook's hash, the runbook
 * validated again here), run through the registry's invoker exactly as the
 * CLI runs the command — as the actor who asked, with typed arguments and the
 * carried runbook pinned — its events published live, its cancel turned into
 * the run's AbortSignal, and the job settled with the command's result.
 */
import type { Command, CommandContext, CommandResult } from '../../commands/command.js';
import type { Invocation } from '../../commands/invoke.js';
import {
  checkFleetJob,
  commandOfFleetKind,
  describeError,
  ExitCode,
  fanOut,
  isLifeboatError,
  jobCancelChannel,
  publishLive,
  runbookOfJob,
  type FleetJob,
  type FleetJobOutcome,
  type FleetQueue,
  type PgChannels,
  type TakenJob,
} from '../core/index.js';

/** What the agent needs of the command registry (commands/index.ts), handed in by main.ts. */
export interface AgentRegistry {
  findCommand(name: string): Command<unknown> | undefined;
  invokeCommand(inv: Invocation, ctx: CommandContext): Promise<CommandResult>;
}

/** Settling a finished job is retried this often while the store is unreachable (the run's records are spooled meanwhile). */
const SETTLE_RETRY_MS = 5_000;

export interface JobDeps {
  host: string;
  queue: FleetQueue;
  channels: PgChannels;
  registry: AgentRegistry;
  /** The agent's own context: its store, env (LIFEBOAT_HOST = host), folders, clock and log sink. */
  ctx: CommandContext;
  /** What the agent's heartbeat tells about the job in hand. */
  running(job: { jobId: string; runbook: string; kind: string; runId?: string } | null): void;
  /** Aborts when the agent's shutdown deadline passed: the job is cancelled. */
  stop: AbortSignal;
  /** False once the agent is stopping: settling gives up retrying then (pg-boss expires the job). */
  keepTrying(): boolean;
}

export async function runJob(taken: TakenJob, deps: JobDeps): Promise<CommandResult> {
  const { host, queue, ctx } = deps;
  const log = (message: string, level: 'info' | 'warn' | 'error' = 'info') => ctx.emit({ type: 'log', level, message });
  let job: FleetJob;
  let pinned;
  try {
    job = checkFleetJob(taken.data, taken.id);
    if (job.runbook.host !== host) throw new Error(`Fleet job ${taken.id} is for host ${job.runbook.host}, and this agent is ${host}: refused`);
    pinned = runbookOfJob(job, taken.id, { runbooksDir: ctx.runbooksDir, home: ctx.home, cwd: ctx.cwd });
  } catch (e) {
    const refused = outcomeOf(e);
    log(`agent ${host}: refused job ${taken.id}: ${refused.summary ?? ''}`, 'error');
    await settle(() => queue.refuse(host, taken.id, refused), deps);
    return refused as CommandResult;
  }
  const runbook = pinned;
  const command = deps.registry.findCommand(commandOfFleetKind[job.kind]);
  const jobId = taken.id;
  const what = `${commandOfFleetKind[job.kind]} ${runbook.name} (job ${jobId}, for ${job.actor.user} via ${job.actor.face})`;
  if (!command) {
    const missing: FleetJobOutcome = { exitCode: ExitCode.failed, summary: `agent ${host}: no command ${commandOfFleetKind[job.kind]} in this version of Lifeboat` };
    await settle(() => queue.refuse(host, jobId, missing), deps);
    return missing as CommandResult;
  }

  const cancel = new AbortController();
  const onStop = () => cancel.abort();
  deps.stop.addEventListener('abort', onStop, { once: true });
  if (deps.stop.aborted) cancel.abort();
  const stopListening = await deps.channels.listen(jobCancelChannel(jobId), () => {
    if (!cancel.signal.aborted) log(`agent ${host}: cancel asked for ${what}`, 'warn');
    cancel.abort();
  });
  // A cancel sent before that LISTEN was in place: the dispatcher withdraws a job still queued, so one marked settled was.
  const state = await queue.status(host, jobId).catch(() => undefined);
  if (state && state.state !== 'active') cancel.abort();

  const live = publishLive(deps.channels, jobId);
  let runId: string | undefined;
  const running = { jobId, runbook: runbook.name, kind: job.kind };
  deps.running(running);
  const track = (e: Parameters<CommandContext['emit']>[0]) => {
    if (e.type === 'run.started' && runId === undefined) {
      runId = e.runId;
      deps.running({ ...running, runId });
    }
  };
  log(`agent ${host}: running ${what}`);
  let result: CommandResult;
  try {
    const jobCtx: CommandContext = {
      ...ctx,
      actor: job.actor,
      emit: fanOut(track, live.sink, ctx.emit),
      signal: cancel.signal,
      pinnedRunbook: (name) => (name === runbook.name ? runbook : ctx.pinnedRunbook?.(name)),
    };
    const where = `agent ${host}, job ${jobId}${job.where === undefined ? '' : ` (asked from ${job.where})`}`;
    result = await deps.registry.invokeCommand({ command, argv: job.argv, args: job.args, where }, jobCtx);
  } catch (e) {
    result = outcomeOf(e) as CommandResult;
  } finally {
    deps.stop.removeEventListener('abort', onStop);
    // Not awaited: the UNLISTEN is housekeeping, and settling the job must not wait on a connection the store's outage left behind.
    void stopListening();
  }
  log(`agent ${host}: ${what} ended: exit ${result.exitCode}${result.summary ? `, ${result.summary}` : ''}`);
  // Settled before `done` goes out, so a dispatcher woken by it reads the result.
  await settle(() => queue.finish(host, jobId, outcomeOfResult(result)), deps);
  await live.finish();
  deps.running(null);
  return result;
}

/** The result as the queue keeps it: plain JSON (undefined fields dropped). */
function outcomeOfResult(result: CommandResult): FleetJobOutcome {
  return JSON.parse(JSON.stringify(result)) as FleetJobOutcome;
}

function outcomeOf(e: unknown): FleetJobOutcome {
  const { code, message } = describeError(e);
  return { exitCode: isLifeboatError(e) ? e.exitCode : ExitCode.failed, summary: message, data: { error: { code, message } } };
}

/**
 * Settles the job, retrying while the store is down: the run itself is over
 * and recorded (spooled if need be); only the queue has to hear of it.
 */
async function settle(write: () => Promise<void>, deps: JobDeps): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await write();
      return;
    } catch (e) {
      if (!deps.keepTrying()) {
        deps.ctx.emit({ type: 'log', level: 'error', message: `agent ${deps.host}: could not record a job's end in the queue (${(e as Error).message}); the queue will expire it` });
        return;
      }
      if (attempt === 1) deps.ctx.emit({ type: 'log', level: 'warn', message: `agent ${deps.host}: the queue cannot be reached to record a job's end (${(e as Error).message}); retrying every ${SETTLE_RETRY_MS / 1000} s` });
      await new Promise((resolve) => setTimeout(resolve, SETTLE_RETRY_MS));
    }
  }
}
