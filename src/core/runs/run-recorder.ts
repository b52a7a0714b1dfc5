/**
 * Keeps a run's record in step with what happens: the store is written at run
 * and stage boundaries (never on progress ticks) and every boundary is also an
 * event for the faces.
 */
import { hostname } from 'node:os';
import type { Clock } from '../clock.js';
import { describeError } from '../errors.js';
import type { EventSink } from '../events.js';
import { newRecordId } from '../ids.js';
import type { Actor, RunKind, RunRecord, RunStatus, StageName, StageRecord, StageStatus } from '../store/records.js';
import type { Store } from '../store/store.js';

export class RunRecorder {
  readonly record: RunRecord;
  private readonly stageStart = new Map<StageName, number>();

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

  async start(): Promise<void> {
    await this.store.putRun(this.record);
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
    await this.store.putRun(this.record);
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
    await this.store.putRun(this.record);
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
    await this.store.putRun(this.record);
    this.emit({ type: 'run.finished', runId: this.id, runbook: this.record.runbook, status, at: this.record.endedAt });
    return this.record;
  }
}
