/**
 * Keeps a run's record in step with what happens: the store is written at run
 * and stage boundaries (never on progress ticks) and every boundary is also an
 * event for the faces.
 *
 * Not every boundary is its own write. The record is written (and awaited)
 * when the run starts, when it ends, and at every boundary that changes what
 * a crash would be judged by (crashJudgement: the status, the snapshot id,
 * the transfer stage's status, a stage that failed) — so a process killed at
 * any point leaves a record that is found and closed as it always was
 * (abandoned-runs.ts, complete-pending.ts, lost-agents.ts). Any other
 * boundary (a stage starting, one succeeding) is written with the next write
 * or at most STAGE_WRITE_DELAY_MS later: a tiny backup wrote its record ten
 * times in ~100 ms, each an upsert of the whole record through redaction and
 * the spool (the fleet bench's largest statement cost); now four times. Live
 * progress travels as events (and, for a remote run, as NOTIFY) as before.
 * What that trades: a crash within STAGE_WRITE_DELAY_MS of such a boundary
 * leaves the record as it was just before it (the stage that had just started
 * is missing, and "last seen" is that much earlier).
 */
import { hostname } from 'node:os';
import type { Clock } from '../clock.js';
import { describeError } from '../errors.js';
import type { EventSink } from '../events.js';
import { newRecordId } from '../ids.js';
import type { Actor, RunKind, RunRecord, RunStatus, StageName, StageRecord, StageStatus } from '../store/records.js';
import type { Store } from '../store/store.js';

/** How long a boundary that changes no crash judgement may wait for the next write. */
export const STAGE_WRITE_DELAY_MS = 1_000;

/** What the recovery of a crashed run reads from its record: a boundary that changes it is written at once. */
function crashJudgement(run: RunRecord): string {
  const transfer = run.stages.find((s) => s.name === 'transfer')?.status;
  const failed = run.stages.filter((s) => s.status === 'failed' || s.status === 'partial').map((s) => s.name);
  return JSON.stringify([run.status, run.snapshotId ?? null, transfer ?? null, failed]);
}

export class RunRecorder {
  readonly record: RunRecord;
  private readonly stageStart = new Map<StageName, number>();
  /** Writes in order, one at a time; each writes the record as it is when its turn comes. */
  #writing: Promise<void> = Promise.resolve();
  /** crashJudgement of the record as last handed to the store. */
  #judged: string | undefined;
  /** A boundary waiting for the next write (or this timer). */
  #deferred: NodeJS.Timeout | undefined;
  /** A deferred write that failed: thrown by the next awaited one, as it would have been at its own boundary. */
  #deferredError: { error: unknown } | undefined;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly emit: EventSink,
    init: { runbook: string; kind: RunKind; actor: Actor; /** The fleet host to record (localHostName: LIFEBOAT_HOST, an agent's --host); default os.hostname(). */ host?: string },
  ) {
    this.record = {
      id: newRecordId(clock),
      runbook: init.runbook,
      kind: init.kind,
      status: 'running',
      startedAt: clock.now().toISOString(),
      actor: init.actor,
      host: init.host ?? hostname(),
      pid: process.pid,
      stages: [],
    };
  }

  get id(): string {
    return this.record.id;
  }

  /** Writes the record now (after any write in flight) and waits for it; a deferred write's failure is thrown here. */
  private async write(): Promise<void> {
    if (this.#deferred) clearTimeout(this.#deferred);
    this.#deferred = undefined;
    const turn = this.#writing.then(() => this.put());
    this.#writing = turn.catch(() => undefined);
    await turn;
    const failed = this.#deferredError;
    this.#deferredError = undefined;
    if (failed) throw failed.error;
  }

  private put(): Promise<void> {
    this.#judged = crashJudgement(this.record);
    return this.store.putRun(this.record);
  }

  /** A stage boundary: written at once when a crash would now be judged differently, else with the next write. */
  private async boundary(): Promise<void> {
    if (crashJudgement(this.record) !== this.#judged) return this.write();
    this.#deferred ??= setTimeout(() => {
      this.#deferred = undefined;
      const turn = this.#writing.then(() => this.put());
      this.#writing = turn.catch((error: unknown) => {
        this.#deferredError ??= { error };
      });
    }, STAGE_WRITE_DELAY_MS);
    // A run that is never finished (its process ends) must not be held open by this: that is a crash, and recorded as one.
    this.#deferred.unref();
  }

  async start(): Promise<void> {
    await this.write();
    this.emit({ type: 'run.started', runId: this.id, runbook: this.record.runbook, kind: this.record.kind === 'verify' ? 'check' : this.record.kind, at: this.record.startedAt });
  }

  private stage(name: StageName): StageRecord {
    let s = this.record.stages.find((x) => x.name === name);
    if (!s) {
      s = { name, status: 'pending', counters: {} };
      this.record.stages.push(s);
    }
    return s;
  }

  async startStage(name: StageName): Promise<void> {
    const s = this.stage(name);
    s.status = 'running';
    s.startedAt = this.clock.now().toISOString();
    this.stageStart.set(name, this.clock.monotonicMs());
    await this.boundary();
    this.emit({ type: 'stage.started', runId: this.id, stage: name, at: s.startedAt });
  }

  async finishStage(name: StageName, status: StageStatus, counters: Record<string, number> = {}, error?: unknown): Promise<void> {
    const s = this.stage(name);
    s.status = status;
    s.endedAt = this.clock.now().toISOString();
    const started = this.stageStart.get(name);
    if (started !== undefined) s.durationMs = Math.round(this.clock.monotonicMs() - started);
    s.counters = { ...s.counters, ...counters };
    if (error !== undefined) s.error = describeError(error);
    await this.boundary();
    this.emit({ type: 'stage.finished', runId: this.id, stage: name, status, counters: s.counters, error: s.error, at: s.endedAt });
  }

  /**
   * A stage with nothing to wait for, started and finished at once (a local
   * repository's transfer: its objects were written during the snapshot
   * stage). One boundary, so one write where startStage + finishStage wrote
   * twice whenever both change the crash judgement (the transfer stage's
   * status): the record goes straight to the finished stage, as it would
   * have a moment later. The faces still hear both events, in order.
   */
  async instantStage(name: StageName, status: StageStatus, counters: Record<string, number> = {}): Promise<void> {
    const s = this.stage(name);
    s.status = status;
    s.startedAt = s.endedAt = this.clock.now().toISOString();
    s.durationMs = 0;
    s.counters = { ...s.counters, ...counters };
    await this.boundary();
    this.emit({ type: 'stage.started', runId: this.id, stage: name, at: s.startedAt });
    this.emit({ type: 'stage.finished', runId: this.id, stage: name, status, counters: s.counters, error: s.error, at: s.endedAt });
  }

  /** End every stage still running (the run is ending early): `failed`, or `skipped` when it did not get to do its work (cancelled, refused). */
  async closeRunningStages(skipped: boolean, error: unknown): Promise<void> {
    for (const stage of this.record.stages) {
      if (stage.status === 'running') await this.finishStage(stage.name, skipped ? 'skipped' : 'failed', {}, error);
    }
  }

  async skipStage(name: StageName): Promise<void> {
    this.stage(name).status = 'skipped';
  }

  async finish(status: RunStatus, error?: unknown): Promise<RunRecord> {
    this.record.status = status;
    this.record.endedAt = this.clock.now().toISOString();
    this.record.durationMs = new Date(this.record.endedAt).getTime() - new Date(this.record.startedAt).getTime();
    if (error !== undefined) this.record.error = describeError(error);
    await this.write();
    this.emit({ type: 'run.finished', runId: this.id, runbook: this.record.runbook, status, at: this.record.endedAt });
    return this.record;
  }
}
