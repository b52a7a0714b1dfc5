/**
 * The one typed event stream of the engine. The TUI, the Slack bot and the
 * headless CLI all render these; the engine never prints. Events are for live
 * display: anything that must survive goes to the Store at stage boundaries.
 */
import type { AlertRecord, DrillRecord, RunStatus, StageName, StageStatus } from './store/records.js';

export interface ProgressCounters {
  files: number;
  /** Bytes read from sources so far. */
  bytes: number;
  /** Bytes that were new (not deduplicated) so far. */
  bytesNew?: number;
  /** Total bytes expected, when known (after discover). */
  totalBytes?: number;
  totalFiles?: number;
  /** Bytes per second over the recent window. */
  rate?: number;
  /** Seconds left, when it can be estimated. */
  etaSeconds?: number;
}

export type EngineEvent =
  | { type: 'run.started'; runId: string; runbook: string; kind: 'backup' | 'drill' | 'check' | 'restore' | 'forget' | 'tier' | 'copy'; at: string }
  | { type: 'stage.started'; runId: string; stage: StageName; at: string }
  | { type: 'stage.progress'; runId: string; stage: StageName; progress: ProgressCounters }
  | {
      type: 'stage.finished';
      runId: string;
      stage: StageName;
      status: StageStatus;
      counters: Record<string, number>;
      error?: { code: string; message: string };
      at: string;
    }
  | { type: 'run.finished'; runId: string; runbook: string; status: RunStatus; at: string }
  | { type: 'hook.output'; runId: string; hook: string; line: string }
  | { type: 'retry'; runId?: string; operation: string; attempt: number; delayMs: number; error: string }
  | { type: 'alert.raised'; alert: AlertRecord }
  | { type: 'alert.resolved'; alert: AlertRecord }
  | { type: 'drill.measured'; drill: DrillRecord }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string; runId?: string };

export type EventSink = (event: EngineEvent) => void;

/** A sink that drops everything; the default when nobody listens. */
export const ignoreEvents: EventSink = () => {};

/** Fan one event out to several sinks; a throwing sink never breaks the engine. */
export function fanOut(...sinks: EventSink[]): EventSink {
  return (event) => {
    for (const sink of sinks) {
      try {
        sink(event);
      } catch {
        // A renderer bug must not abort a backup.
      }
    }
  };
}
