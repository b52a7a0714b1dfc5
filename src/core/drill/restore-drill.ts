/**
 * A restore drill: a real, timed restore of a snapshot into scratch space,
 * then proof that it is good. RTO is the wall time from the start to
 * "validated", split into phases so a slow drill says which part was slow:
 *
 *   plan      open the repository, find the snapshot, walk its trees, make folders
 *   thaw      cold tier only: thaw the archived packs the restore reads (see
 *             src/core/tier/thaw.ts); the RTO includes it, as a real restore
 *             from the cold tier would have to wait for it too, and holds
 *             it to objectives.coldRto when the runbook sets one (else rto)
 *   fetch     until the last pack range has been read from the repository
 *   write     until every file is decrypted, verified, written, and re-read from
 *             disk and hashed against the snapshot (each file as soon as it is
 *             complete, while the rest is restored: src/core/repo/restore-validation.ts)
 *   validate  what is left of that re-reading once the last file is written (none:
 *             the restore returns when every file is checked); each stream source
 *             piped into its `restore` command; `drill.check` run
 *
 * Scratch space is removed afterwards (also on failure or cancel): moved aside
 * at once and removed in the background, before the next drill restores
 * anything (./discard-scratch.ts); cleanup is timed but not part of the RTO.
 *
 * A path drill (`path`) restores only that path of the snapshot: a path not in
 * the snapshot is a failed drill naming it and the snapshot; every file
 * restored under it is hashed against the snapshot as above. Stream sources'
 * `restore` commands and `drill.check` are not run: they are written for the
 * whole restore (`test -s uploads/index.json` fails in a folder that holds
 * only `etc/app.yaml`), so running them would fail good path drills or, worse,
 * pass on files the path did not restore. The record keeps the path, and its
 * RTO is the path's, never the runbook's (./drill-scope.ts).
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { checkChildEnvironments, childEnvironment } from '../child/child-env.js';
import { LifeboatError, describeError, isLifeboatError } from '../errors.js';
import { formatDuration } from '../format.js';
import type { OpenedRepository, Tier } from '../repo/open-repository.js';
import { restoreSnapshot, type RestoreOutcome } from '../repo/restorer.js';
import { findRunbookSnapshot } from '../repo/runbook-snapshots.js';
import { planSnapshot, type SnapshotPlan } from '../repo/snapshot-plan.js';
import type { Redactor } from '../redaction/index.js';
import type { ChildEnvRefs, Runbook } from '../runbook/types.js';
import type { RunContext } from '../run-context.js';
import type { DrillPhase, DrillRecord } from '../store/records.js';
import { describeThawProgress, thawForRestore, type ThawForRestoreResult } from '../tier/thaw-restore.js';
import { coldLocationOf, thawSettingsFor } from '../tier/thaw-settings.js';
import { discardScratch, finishDiscards } from './discard-scratch.js';
import { rtoTargetOf } from './rto-target.js';
import { runShell } from './shell.js';

export interface DrillInput extends RunContext {
  secrets: Redactor;
  /** The drill's id (the harness's run id, src/core/use-cases/recorded-run.ts). */
  id: string;
  /**
   * Opens the repository under the drill's shared lock, held until the drill
   * ends, so a prune can neither start under the drill nor have deleted packs
   * its index still lists. Throws REPO_LOCKED naming the holder when one runs.
   */
  openRepository(tier: Tier): Promise<OpenedRepository>;
  /** `latest` (default) or a snapshot id prefix. */
  snapshot?: string;
  /** Keep the scratch folder for inspection. */
  keep?: boolean;
  /** Which repository to restore from (default hot); `cold` thaws what it reads first. */
  tier?: Tier;
  /** Drill only this path of the snapshot, as drillPath (./drill-scope.ts) normalized it. */
  path?: string;
  /** The copy drilled (the runbook is then its view, src/core/copies/copy-runbook.ts); recorded on the drill. */
  copy?: string;
}

export interface DrillResult {
  drill: DrillRecord;
  problems: string[];
  scratch: string;
  restore?: RestoreOutcome;
  /** Cold tier: what was planned and thawed. */
  thaw?: ThawForRestoreResult;
}

export async function runDrill(input: DrillInput): Promise<DrillResult> {
  const { runbook, clock, emit, id } = input;
  const tier = input.tier ?? 'hot';
  const scratch = join(input.home, 'scratch', `drill-${runbook.name}-${id}`);
  // An earlier drill's restore still being removed goes first (one restore on disk at a time), before the
  // RTO's clock starts: it is housekeeping, not this restore. One that cannot be removed does not stop the drill.
  await finishDiscards(dirname(scratch)).catch(() => undefined);
  const drill: DrillRecord = {
    id,
    runbook: runbook.name,
    snapshotId: '',
    tier,
    startedAt: clock.now().toISOString(),
    verdict: 'running',
    targetMs: rtoTargetOf(runbook.objectives, tier),
    phases: [],
    actor: input.actor,
    ...(input.path === undefined ? {} : { path: input.path }),
    ...(input.copy === undefined ? {} : { copy: input.copy }),
  };
  const started = clock.monotonicMs();
  let mark = started;
  const phase = (name: DrillPhase['name'], bytes?: number) => {
    const now = clock.monotonicMs();
    const durationMs = Math.round(now - mark);
    mark = now;
    // A cold drill marks the plan phase twice (before the thaw, and once the restorer made its folders): one plan phase, both times in it.
    const earlier = drill.phases.find((p) => p.name === name);
    if (earlier && bytes === undefined) {
      earlier.durationMs += durationMs;
      return;
    }
    drill.phases.push({ name, durationMs, bytes, throughput: bytes !== undefined && durationMs > 0 ? Math.round((bytes * 1000) / durationMs) : undefined });
  };
  const problems: string[] = [];
  let restore: RestoreOutcome | undefined;
  let thaw: ThawForRestoreResult | undefined;
  // Opened (and locked) before anything is recorded: a drill refused because a
  // prune holds the repository leaves no record, like a backup refused by its
  // run lock. Any other failure here is the drill's own, recorded below.
  let opened: OpenedRepository | undefined;
  let notOpened: unknown;
  try {
    // A runbook that would hand a child a password fails before anything is restored.
    await checkChildEnvironments(runbook, input.env, input.secrets);
    if (tier === 'cold') coldLocationOf(runbook);
    opened = await input.openRepository(tier);
  } catch (e) {
    if (isLifeboatError(e, 'REPO_LOCKED')) throw e;
    notOpened = e;
  }
  await input.store.putDrill(drill);
  emit({ type: 'run.started', runId: id, runbook: runbook.name, kind: 'drill', at: drill.startedAt });
  try {
    if (opened === undefined) throw notOpened;
    const { repo, backend } = opened;
    await mkdir(scratch, { recursive: true, mode: 0o700 });
    const snapshot = await findRunbookSnapshot(repo, input.snapshot ?? 'latest', { runbook: runbook.name, foreignHint: 'a drill measures only its own runbook\'s snapshots' });
    drill.snapshotId = snapshot.id;
    if (tier === 'cold') {
      const settings = thawSettingsFor(runbook, input.env);
      phase('plan');
      const thawed = await thawForRestore({
        repo,
        backend,
        snapshot,
        subPath: input.path,
        settings,
        signal: input.signal,
        clock,
        onProgress: (round, p) => emit({ type: 'log', level: 'info', runId: id, message: describeThawProgress(round, p) }),
      }).catch((e: unknown) => notInSnapshot(e, input.path));
      thaw = thawed;
      phase('thaw');
    }
    // One walk of the trees for the thaw, the restore and the validation (src/core/repo/snapshot-plan.ts).
    // Let, and dropped once the restored files are checked: the plan (the snapshot's tree nodes, every
    // file's path and blob locations: ~25 MiB of the 50k-file tree's heap) must not live through the
    // stream restores, the check and the cleanup (this suspended function would keep it).
    let plan: SnapshotPlan | undefined = thaw?.snapshotPlan ?? (await planSnapshot(repo, snapshot, { subPath: input.path, signal: input.signal }).catch((e: unknown) => notInSnapshot(e, input.path)));
    let fetchedBytes = 0;
    restore = await restoreSnapshot({
      repo,
      snapshot,
      subPath: input.path,
      plan,
      target: scratch,
      signal: input.signal,
      validate: {},
      onMilestone: (m, o) => {
        if (m === 'planned') phase('plan');
        else {
          fetchedBytes = o.bytesFetched;
          phase('fetch', o.bytesFetched);
        }
      },
    });
    if (!drill.phases.some((p) => p.name === 'fetch')) phase('fetch', fetchedBytes);
    phase('write', restore.bytes);
    for (const f of restore.failed) problems.push(`restore: ${relative(scratch, f.path)}: ${f.error}`);
    problems.push(...restoredFileProblems(restore, plan, scratch));
    plan = undefined;
    if (input.path === undefined) problems.push(...(await validate(scratch, runbook, input)));
    phase('validate', restore.bytes);
    const rtoMs = Math.round(clock.monotonicMs() - started);
    drill.verdict = problems.length > 0 ? 'failed' : rtoMs > drill.targetMs ? 'missed' : 'met';
    // The RTO is the time to a validated restore: a failed drill has none.
    if (drill.verdict !== 'failed') drill.rtoMs = rtoMs;
    if (drill.verdict === 'failed') drill.reason = summarize(problems);
    else if (drill.verdict === 'missed') drill.reason = `took ${formatDuration(rtoMs)}, over the ${formatDuration(drill.targetMs)} target; slowest phase: ${slowest(drill.phases)}`;
  } catch (e) {
    drill.rtoMs = undefined;
    if (unreachable(e)) {
      drill.verdict = 'blocked';
      drill.reason = `the repository could not be reached: ${describeError(e).message}`;
    } else {
      drill.verdict = 'failed';
      drill.reason = isLifeboatError(e, 'CANCELLED') ? 'cancelled' : describeError(e).message;
    }
    problems.push(drill.reason);
  } finally {
    const cleanupStart = clock.monotonicMs();
    if (!input.keep) await discardScratch(scratch).catch(() => undefined);
    drill.phases.push({ name: 'cleanup', durationMs: Math.round(clock.monotonicMs() - cleanupStart) });
    drill.endedAt = clock.now().toISOString();
    await input.store.putDrill(drill);
    emit({ type: 'drill.measured', drill });
    emit({ type: 'run.finished', runId: id, runbook: runbook.name, status: drill.verdict === 'failed' || drill.verdict === 'blocked' ? 'failed' : 'succeeded', at: drill.endedAt });
  }
  return { drill, problems, scratch, restore, ...(thaw === undefined ? {} : { thaw }) };
}

/**
 * The repository did not answer (S3 down past the retry budget): the drill is
 * blocked, not failed. Damage, a wrong password or a failing check are the
 * drill's findings and stay failures.
 */
function unreachable(e: unknown): boolean {
  return isLifeboatError(e, 'BACKEND_UNAVAILABLE') || isLifeboatError(e, 'TRANSFER_PENDING');
}

/**
 * A path drill's path is not in the snapshot (planSnapshot's USAGE): the
 * drill's finding, said with the path and the snapshot, without the CLI's
 * `--path` (a Slack user typed no option).
 */
function notInSnapshot(e: unknown, path: string | undefined): never {
  const prefix = `--path ${path}: `;
  if (path === undefined || !isLifeboatError(e, 'USAGE') || !e.message.startsWith(prefix)) throw e;
  const inner = e.message.slice(prefix.length);
  const whole = `"${path}" `;
  throw new LifeboatError('USAGE', inner.startsWith(whole) ? `path ${path} ${inner.slice(whole.length)}` : `path ${path}: ${inner}`, { cause: e });
}

function relative(root: string, path: string): string {
  return path.startsWith(root + '/') ? path.slice(root.length + 1) : path;
}

function slowest(phases: DrillPhase[]): string {
  const top = [...phases].filter((p) => p.name !== 'cleanup').sort((a, b) => b.durationMs - a.durationMs)[0];
  return top ? `${top.name} (${formatDuration(top.durationMs)})` : 'none';
}

function summarize(problems: string[]): string {
  const head = problems.slice(0, 3).join('; ');
  return problems.length > 3 ? `${head}; and ${problems.length - 3} more` : head;
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new LifeboatError('CANCELLED', 'drill cancelled');
}

/**
 * What the restore's re-reading found (restore-validation.ts: each file re-read from disk
 * and hashed against the snapshot once complete). A file the restore already reported
 * as damaged was not re-read and needs no second, noisier problem; any other file of the
 * plan that was not re-read is a problem too, so the verdict never rests on files nobody checked.
 */
function restoredFileProblems(restore: RestoreOutcome, plan: SnapshotPlan, scratch: string): string[] {
  const validation = restore.validation ?? { validated: 0, invalid: [] };
  const problems = validation.invalid.map((f) => `validate: ${relative(scratch, f.path)} ${f.problem}`);
  let expected = plan.files.length;
  if (restore.failed.length > 0) {
    const failed = new Set(restore.failed.map((f) => f.path));
    for (const f of plan.files) if (failed.has(join(scratch, f.rel))) expected--;
  }
  if (validation.validated < expected) problems.push(`validate: ${expected - validation.validated} of ${expected} restored files were not re-read`);
  return problems;
}

/** Stream sources fed to their restore commands, then the check. */
async function validate(scratch: string, runbook: Runbook, input: DrillInput & { secrets: Redactor }): Promise<string[]> {
  const problems: string[] = [];
  // Restores and the check get the child policy's environment (src/core/child/child-env.ts): a
  // restore its source's `env`, the check `drill.env`, both these facts about the drill.
  const childEnv = (where: string, optIn: ChildEnvRefs | undefined) =>
    childEnvironment({ parent: input.env, optIn, secrets: input.secrets, where, facts: { LIFEBOAT_DRILL_DIR: scratch, LIFEBOAT_RUNBOOK: runbook.name } });
  for (const source of runbook.sources) {
    if (source.kind !== 'command' || !source.restore) continue;
    const env = await childEnv(`sources[${source.name}].env`, source.env);
    const res = await runShell(source.restore, { cwd: scratch, env, stdinFile: join(scratch, source.name), timeoutMs: runbook.drill.timeoutMs, signal: input.signal });
    throwIfCancelled(input.signal);
    if (res.code !== 0) problems.push(`restore of ${source.name} (\`${source.restore}\`) ${res.timedOut ? `timed out after ${formatDuration(runbook.drill.timeoutMs)}` : `exited with ${res.code ?? res.signal}`}${res.tail.length ? `: ${res.tail.join(' | ')}` : ''}`);
  }
  if (runbook.drill.check) {
    const env = await childEnv('drill.env', runbook.drill.env);
    const res = await runShell(runbook.drill.check, { cwd: scratch, env, timeoutMs: runbook.drill.timeoutMs, signal: input.signal });
    throwIfCancelled(input.signal);
    if (res.code !== 0) problems.push(`check \`${runbook.drill.check}\` ${res.timedOut ? `timed out after ${formatDuration(runbook.drill.timeoutMs)}` : `failed (exit ${res.code ?? res.signal})`}${res.tail.length ? `: ${res.tail.join(' | ')}` : ''}`);
  }
  return problems;
}
