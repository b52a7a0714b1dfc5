/**
 * The one harness every use case runs in. From the action's policy
 * (policies.ts) it
 *
 *   1. writes and emits through redaction (src/core/redaction/for-run.ts);
 *   2. takes the runbook's run lock, when the action holds one — before
 *      anything is recorded, so a refused action leaves no trace;
 *   3. starts the run record, when the action records a run;
 *   4. closes the runbook's abandoned runs (src/core/runs/abandoned-runs.ts),
 *      when it records anything or holds the run lock;
 *   5. hands the body a session whose `openRepository` takes the declared
 *      repository lock before the index is read;
 *   6. finishes the record: with the body's status, or failed (cancelled) with
 *      every running stage closed when the body throws — skipped, not failed,
 *      when the body was refused the repository lock (it checked nothing);
 *   7. releases the locks, then runs the alert rules when the policy says so
 *      (whatever the outcome: a failed run is what they are for).
 */
import { evaluateAlerts, eventNotifier } from '../alerts/index.js';
import { isLifeboatError } from '../errors.js';
import { localHostName } from '../fleet/host-name.js';
import { newRecordId } from '../ids.js';
import { openRepositoryStack, unlockRepositoryKey, type OpenedRepository, type RepositoryStack, type Tier } from '../repo/open-repository.js';
import { redactedRun, type Redactor } from '../redaction/index.js';
import type { RunContext } from '../run-context.js';
import { closeAbandonedRuns } from '../runs/abandoned-runs.js';
import { lockRepository, type HeldLock } from '../runs/repository-lock.js';
import { RunLock } from '../runs/run-lock.js';
import { RunRecorder } from '../runs/run-recorder.js';
import type { AlertRecord, RunRecord, RunStatus } from '../store/records.js';
import { isStoreUnreachable } from '../store/spool/unreachable.js';
import { deadMansSwitch, type DeadMansSwitch } from '../notify/ping.js';
import type { UseCasePolicy } from './policies.js';

/** The context a use case body works with: every write and event goes through redaction. */
export type RedactedContext = RunContext & { secrets: Redactor };

export interface Session {
  readonly input: RedactedContext;
  /** The id this action's events and records carry: its run's, or a fresh one. */
  readonly runId: string;
  /** The run record being kept. Throws for an action whose policy records no run. */
  readonly recorder: RunRecorder;
  /**
   * The backend stack of a tier with the policy's repository lock taken on it
   * (held until the action ends). `stagingIfUnreachable`: an action that only
   * stages goes on unlocked when a staged remote is down (see
   * src/core/runs/repository-lock.ts).
   */
  lockedStack(tier?: Tier, options?: { stagingIfUnreachable?: boolean }): Promise<RepositoryStack>;
  /** lockedStack, then the repository opened with its index loaded under the lock. */
  openRepository(tier?: Tier): Promise<OpenedRepository>;
}

/** What a body returns: its value, and how it ended (default succeeded): a recorded run's status, and what the dead man's switch hears. */
export interface Ending<T> {
  value: T;
  status?: RunStatus;
  error?: unknown;
}

export interface UseCaseOutcome<T> {
  value: T;
  /** The finished run record, for actions that record one. */
  run?: RunRecord;
  /** Alerts the rules raised when the action ended (policy `alerts`). */
  alerts: AlertRecord[];
  /** How it ended: its run's status, else what the body said (a drill: from its verdict), else succeeded. */
  status?: RunStatus;
}

/** The actions a runbook's dead man's switch (`alerts.ping`) hears of, and how its pings name them. */
const PINGED: Readonly<Record<string, string>> = { backup: 'backup', 'restore-drill': 'drill' };

export async function recordedRun<T>(policy: UseCasePolicy, unredacted: RunContext, body: (session: Session) => Promise<Ending<T>>): Promise<UseCaseOutcome<T>> {
  const input = await redactedRun(unredacted);
  const kind = PINGED[policy.action];
  const ping = kind === undefined ? undefined : deadMansSwitch({ runbook: input.runbook, env: input.env, emit: input.emit, kind });
  let alerts: AlertRecord[] = [];
  let outcome: Omit<UseCaseOutcome<T>, 'alerts'> | undefined;
  try {
    outcome = await underLocks(policy, input, body, ping);
  } finally {
    // Outside the locks: a rule never waits on the repository.
    if (policy.alerts) alerts = await alertsAfter(input);
    // Partial, cancelled or thrown: all a failure to the switch. It never throws.
    await ping?.finish(outcome === undefined ? (input.signal?.aborted ? 'cancelled' : 'failed') : (outcome.status ?? 'succeeded'));
  }
  return { ...outcome, alerts };
}

async function underLocks<T>(policy: UseCasePolicy, input: RedactedContext, body: (session: Session) => Promise<Ending<T>>, ping?: DeadMansSwitch): Promise<Omit<UseCaseOutcome<T>, 'alerts'>> {
  const { runbook, clock, emit, actor } = input;
  const kind = policy.records === 'nothing' || policy.records === 'drill' ? undefined : policy.records;
  const recorder = kind === undefined ? undefined : new RunRecorder(input.store, clock, emit, { runbook: runbook.name, kind, actor, host: localHostName(input.env) });
  const runId = recorder?.id ?? newRecordId(clock);
  const held: HeldLock[] = [];
  /** Set when the declared repository lock was refused (another action holds the repository). */
  let refusedByLock = false;
  const runLock = policy.runLock
    ? await RunLock.acquire(input.home, { runbook: runbook.name, startedAt: recorder?.record.startedAt ?? clock.now().toISOString(), runId: recorder?.id, by: `${actor.user} (${actor.face}) ${policy.action}` })
    : undefined;
  // Started once the run lock is held: a run refused by it never ran (the holder pings for itself).
  ping?.start(runId);
  try {
    await recorder?.start();
    const stackOf = (tier: Tier) => openRepositoryStack(runbook, { env: input.env, home: input.home, emit, runId, tier });
    const lock = async (stack: RepositoryStack, options: { stagingIfUnreachable?: boolean } = {}): Promise<RepositoryStack> => {
      const warn = (message: string) => emit({ type: 'log', level: 'warn', runId, message });
      try {
        held.push(
          await lockRepository(stack.backend, {
            mode: policy.lock,
            purpose: `${policy.action} of ${runbook.name}`,
            ...(options.stagingIfUnreachable ? { unlockedIfUnreachable: { staged: stack.staging !== undefined, warn } } : {}),
          }),
        );
      } catch (e) {
        refusedByLock = isLifeboatError(e, 'REPO_LOCKED');
        throw e;
      }
      return stack;
    };
    const session: Session = {
      input,
      runId,
      get recorder(): RunRecorder {
        if (!recorder) throw new Error(`${policy.action} records no run (src/core/use-cases/policies.ts)`);
        return recorder;
      },
      lockedStack: async (tier = 'hot', options) => lock(await stackOf(tier), options),
      // The key first: a wrong password is refused before a lock file is written; the index under the lock.
      openRepository: async (tier = 'hot') => {
        const stack = await stackOf(tier);
        const repo = await unlockRepositoryKey(stack, runbook, input.env);
        await lock(stack);
        await repo.loadIndex();
        return { ...stack, repo };
      },
    };
    let ending: Ending<T>;
    try {
      if (runLock?.tookOverFrom) {
        emit({ type: 'log', level: 'warn', runId, message: `took over a stale run lock of pid ${runLock.tookOverFrom.pid} (started ${runLock.tookOverFrom.startedAt})` });
      }
      if (policy.records !== 'nothing' || policy.runLock) {
        try {
          for (const dead of await closeAbandonedRuns(input.store, runbook.name, { byRun: runId, tookOverFrom: runLock?.tookOverFrom, here: localHostName(input.env) })) {
            emit({ type: 'log', level: 'warn', runId, message: `run ${dead.id} was left running by a process that is gone: recorded as ${dead.status} (${dead.error?.message})` });
          }
        } catch (e) {
          // A store outage must not stop a backup or drill (its own records are spooled, store/spool/): the next run closes them.
          if (!isStoreUnreachable(e)) throw e;
          emit({ type: 'log', level: 'warn', runId, message: 'abandoned runs not checked: state store unreachable; the next run checks them' });
        }
      }
      ending = await body(session);
    } catch (e) {
      if (recorder) {
        const cancelled = isLifeboatError(e, 'CANCELLED') || input.signal?.aborted === true;
        // Refused by the repository lock, a stage did nothing: skipped, so no rule reads it as a verification that failed.
        await recorder.closeRunningStages(cancelled || refusedByLock, e);
        await recorder.finish(cancelled ? 'cancelled' : 'failed', e);
      }
      throw e;
    }
    const run = recorder ? await recorder.finish(ending.status ?? 'succeeded', ending.error) : undefined;
    return { value: ending.value, ...(run ? { run } : {}), status: run?.status ?? ending.status ?? 'succeeded' };
  } finally {
    for (const lock of held.reverse()) await lock.release();
    await runLock?.release();
  }
}

/** The alert rules over the runbook's history; a broken rule or sink never changes the action's own result. */
async function alertsAfter(input: RedactedContext): Promise<AlertRecord[]> {
  try {
    // input.config routes the transitions' deliveries (the outbox); the run counts as a sighting of each condition.
    const result = await evaluateAlerts({ runbook: input.runbook, store: input.store, clock: input.clock, notifier: eventNotifier(input.emit), config: input.config, trigger: 'run' });
    return result.raised;
  } catch (e) {
    const message = isStoreUnreachable(e)
      ? 'alert rules not evaluated: state store unreachable; they run again when it returns'
      : `alert evaluation failed: ${(e as Error).message}`;
    input.emit({ type: 'log', level: 'warn', message });
    return [];
  }
}

/** The run record of an outcome whose policy records runs. */
export function runOf(outcome: UseCaseOutcome<unknown>): RunRecord {
  if (!outcome.run) throw new Error('this action records no run (src/core/use-cases/policies.ts)');
  return outcome.run;
}
