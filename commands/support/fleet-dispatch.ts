/**
 * The one place a command leaves this process (issue 19): when a runbook's
 * `host:` names another host, backup, restore-drill, check, forget, tier and
 * resume are queued for that host's agent (src/core/fleet/queue.ts) instead
 * of run here, from every face alike — invokeCommand calls this after it
 * authorized the request, so the CLI, Slack, the console's prompt and serve's
 * scheduled fires all go through it.
 *
 * The caller waits for the job and gets the agent's result in the shape a
 * local run returns (exit code from the run's status); the agent's engine
 * events are re-emitted to the caller's sink as they come (live-events.ts),
 * and the caller's abort (Ctrl-C, serve's shutdown) becomes a cancel: a job
 * no agent took yet is withdrawn, a running one is told to stop and ends
 * `cancelled` on its host.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  acquireFleetLink,
  commandOfFleetKind,
  ExitCode,
  fleetKindOfCommand,
  followLive,
  hostWakeChannel,
  jobCancelChannel,
  LifeboatError,
  localHostName,
  runsHere,
  sha256Hex,
  storeSetting,
  storeUrl,
  type FleetJob,
  type FleetJobOutcome,
  type FleetJobStatus,
  type FleetQueue,
  type PgChannels,
  type Runbook,
} from '../../src/core/index.js';
import type { Command, CommandContext, CommandResult } from '../command.js';
import { loadRunbookArg } from './runbook-arg.js';

/**
 * How often the job's state is read while waiting and all is well: only a
 * fallback, for a `done` notification lost with a dropped LISTEN connection —
 * the agent's `done` wakes the wait at once. A read every 2 s per waited job
 * was ~8 statements per fleet job (the fleet bench) and 2,200 reads/s at
 * 10,000 hosts (docs/fleet-scale.md).
 */
const LOOK_EVERY_MS = 10_000;
/** While the store does not answer, or after a cancel (said again at every look), the state is read this often. */
const LOOK_CLOSELY_MS = 2_000;
/** A job the queue no longer knows, this many looks in a row, is given up on instead of waited for forever. */
const VANISHED_AFTER_LOOKS = 3;
/** After a cancel reached a running job, how long its agent gets to end the run before the caller stops waiting. */
const CANCEL_WAIT_MS = 60_000;

interface Request {
  argv: string[];
  where?: string;
}

/**
 * The agent's result when the command's runbook belongs to another host;
 * undefined when it runs here (no `host:`, this host's, or not a command that
 * travels). Throws what loading the runbook throws, and USAGE when the store
 * is the JSON file (a queue needs PostgreSQL).
 */
export async function dispatchedResult(command: Command<unknown>, args: unknown, ctx: CommandContext, request: Request): Promise<CommandResult | undefined> {
  const kind = fleetKindOfCommand(command.name);
  const ref = (args as { runbook?: unknown } | null)?.runbook;
  if (kind === undefined || typeof ref !== 'string') return undefined;
  const runbook = await loadRunbookArg(ref, ctx);
  const here = localHostName(ctx.env);
  if (runbook.host === undefined || runsHere(runbook, here)) return undefined;
  const url = await queueUrl(runbook, here, ctx);
  const content = await readFile(runbook.file, 'utf8');
  const job: FleetJob = {
    v: 1,
    kind,
    args: { ...(args as Record<string, unknown>), runbook: runbook.name },
    argv: request.argv,
    runbook: { name: runbook.name, host: runbook.host, content, sha256: sha256Hex(content) },
    actor: ctx.actor,
    ...(request.where === undefined ? {} : { where: request.where }),
    requestedAt: ctx.clock.now().toISOString(),
  };
  return runRemotely(job, url, ctx);
}

/** The PostgreSQL URL the queue lives at: the store's; the JSON store cannot carry jobs. */
async function queueUrl(runbook: Runbook, here: string, ctx: CommandContext): Promise<string> {
  const setting = storeSetting({ config: ctx.config, env: ctx.env, home: ctx.home });
  if (setting.kind === 'json') {
    throw new LifeboatError(
      'USAGE',
      `${runbook.name} runs on host ${runbook.host ?? '?'} (its host: in ${runbook.file}) and this is ${here}: handing it to ${runbook.host ?? '?'}'s agent needs the PostgreSQL store (store.url in lifeboat.yaml, or LIFEBOAT_STORE_URL); this process uses the JSON store at ${setting.path}`,
    );
  }
  return storeUrl(setting, ctx.env);
}

async function runRemotely(job: FleetJob, url: string, ctx: CommandContext): Promise<CommandResult> {
  const host = job.runbook.host;
  const id = randomUUID();
  const command = commandOfFleetKind[job.kind];
  const done = doneSignals();
  // The process's one queue and LISTEN connection (shared-fleet-link.ts): serve fires hundreds of these at once.
  const { link, release } = await acquireFleetLink(url).catch((e: unknown) => {
    throw new LifeboatError('BACKEND_UNAVAILABLE', `Cannot queue ${command} of ${job.runbook.name} for host ${host}: ${(e as Error).message}`, { cause: e, retryable: true });
  });
  const { queue, channels } = link;
  try {
    // Listening before the job exists, so not even its first event can be missed.
    const stopFollowing = await followLive(channels, id, ctx.emit, () => done.heard());
    try {
      await queue.dispatch(job, id);
      await channels.notify(hostWakeChannel(host), id);
      ctx.emit({ type: 'log', level: 'info', message: `${command} ${job.runbook.name}: queued for host ${host} (job ${id})` });
      return await waitForJob(queue, channels, job, id, ctx, done);
    } finally {
      await stopFollowing();
    }
  } finally {
    await release();
  }
}

/**
 * The agent's `done` notifications, counted: a wait that starts after one
 * arrived (while the state was being read, or before the first wait) ends at
 * once instead of missing it.
 */
function doneSignals(): { heard(): void; count(): number; since(seen: number): Promise<void> } {
  let count = 0;
  const waiters: (() => void)[] = [];
  return {
    heard() {
      count++;
      for (const w of waiters.splice(0)) w();
    },
    count: () => count,
    since: (seen) => (count > seen ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
  };
}

async function waitForJob(queue: FleetQueue, channels: PgChannels, job: FleetJob, id: string, ctx: CommandContext, done: ReturnType<typeof doneSignals>): Promise<CommandResult> {
  const host = job.runbook.host;
  let cancelledAt: number | undefined;
  const abort = aborted(ctx.signal);
  const never = new Promise<void>(() => undefined);
  /** Looks in a row that found no such job (the store answered): it was deleted, or lost with the store's last commits. */
  let missing = 0;
  /** Said once per outage: the operator waiting learns why nothing moves, and that the run goes on without the store. */
  let unreachable = false;
  // Just queued: nothing to read yet. The first look waits for the agent's `done`, the fallback interval or the caller's abort.
  const first = delay(LOOK_EVERY_MS);
  await Promise.race([done.since(0), first.done, abort]);
  first.cancel();
  for (;;) {
    const seen = done.count();
    const status = await queue.status(host, id).catch((e: unknown) => {
      if (!unreachable) {
        const why = ((e as Error).message ?? String(e)).split('\n', 1)[0];
        ctx.emit({ type: 'log', level: 'warn', message: `state store unreachable (${why}): job ${id} (${commandOfFleetKind[job.kind]} of ${job.runbook.name}) on host ${host} goes on there; waiting for the store to answer again to follow it` });
      }
      unreachable = true;
      return 'unreachable' as const;
    });
    if (status !== 'unreachable' && unreachable) {
      unreachable = false;
      ctx.emit({ type: 'log', level: 'info', message: `state store answers again: following job ${id} on host ${host}` });
    }
    if (status !== 'unreachable' && status !== undefined && settled(status)) return resultOf(status, job, id);
    missing = status === undefined ? missing + 1 : 0;
    if (missing >= VANISHED_AFTER_LOOKS) {
      return {
        exitCode: ExitCode.failed,
        summary: `job ${id} (${commandOfFleetKind[job.kind]} of ${job.runbook.name} on host ${host}) is no longer in the queue: its outcome is unknown here; see lifeboat history ${job.runbook.name}`,
        data: { job: id, host },
      };
    }
    if (ctx.signal.aborted && cancelledAt === undefined) {
      cancelledAt = Date.now();
      if (await queue.cancelIfQueued(host, id).catch(() => false)) {
        return { exitCode: ExitCode.cancelled, summary: `cancelled ${commandOfFleetKind[job.kind]} of ${job.runbook.name} before host ${host}'s agent started it`, data: { job: id, host } };
      }
      ctx.emit({ type: 'log', level: 'warn', message: `cancel sent to host ${host} (job ${id}); waiting for its agent to end the run` });
    }
    // Said again at every look: a notification sent before the agent listened for it is lost.
    if (cancelledAt !== undefined) await channels.notify(jobCancelChannel(id), 'cancel');
    if (cancelledAt !== undefined && Date.now() - cancelledAt > CANCEL_WAIT_MS) {
      return { exitCode: ExitCode.cancelled, summary: `cancel sent to host ${host}, but its agent did not end job ${id} within ${CANCEL_WAIT_MS / 1000} s: see lifeboat hosts and the run's history`, data: { job: id, host } };
    }
    const poll = delay(unreachable || cancelledAt !== undefined ? LOOK_CLOSELY_MS : LOOK_EVERY_MS);
    await Promise.race([done.since(seen), poll.done, cancelledAt === undefined ? abort : never]);
    // Cleared, not left to fire: a pending timer would hold a CLI process open for up to the interval after its result.
    poll.cancel();
  }
}

const settled = (s: FleetJobStatus) => s.state === 'completed' || s.state === 'failed' || s.state === 'cancelled';

function resultOf(status: FleetJobStatus, job: FleetJob, id: string): CommandResult {
  const host = job.runbook.host;
  const outcome = asOutcome(status.output);
  if (outcome) return { ...outcome, exitCode: outcome.exitCode as ExitCode };
  if (status.state === 'cancelled') return { exitCode: ExitCode.cancelled, summary: `job ${id} for host ${host} was cancelled before it ran`, data: { job: id, host } };
  // pg-boss's own failure (a job active past its expiry): { message } or { value: { message } }.
  const out = status.output as { message?: unknown; value?: { message?: unknown } } | null;
  const why = typeof out?.message === 'string' ? out.message : typeof out?.value?.message === 'string' ? out.value.message : 'no result from the agent';
  return { exitCode: ExitCode.failed, summary: `${commandOfFleetKind[job.kind]} of ${job.runbook.name} on host ${host} failed: ${why} (job ${id})`, data: { job: id, host } };
}

function asOutcome(output: unknown): FleetJobOutcome | undefined {
  return output !== null && typeof output === 'object' && typeof (output as { exitCode?: unknown }).exitCode === 'number' ? (output as FleetJobOutcome) : undefined;
}

function delay(ms: number): { done: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return { done, cancel: () => clearTimeout(timer) };
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
