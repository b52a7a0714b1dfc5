/**
 * The history an operator reads: runs of every kind and drills, one list,
 * newest first. Runs and drills are kept apart by the store (a drill has a
 * verdict and an RTO, not stages), so `lifeboat history` used to show runs
 * only and left drills out; here both are read with the same filters and
 * merged.
 */
import { LifeboatError } from '../errors.js';
import type { DrillRecord, RunKind, RunRecord } from '../store/records.js';
import type { Store } from '../store/store.js';

/** Every kind `--kind` takes: the run kinds the store keeps, and drills. */
export const historyKinds = ['backup', 'check', 'verify', 'tier', 'copy', 'restore', 'forget', 'drill'] as const;
export type HistoryKind = (typeof historyKinds)[number];

/**
 * A run as stored, or a drill with `kind: 'drill'` added, so every entry has
 * a `kind` and a reader of runs only (`--json` consumers) sees runs unchanged.
 */
export type HistoryEntry = RunRecord | (DrillRecord & { kind: 'drill' });

export interface HistoryQuery {
  runbook?: string | undefined;
  /** One kind; undefined: every kind. */
  kind?: HistoryKind | undefined;
  limit: number;
}

/**
 * `check` runs are recorded with kind `verify` (use-cases/policies.ts), so
 * `--kind check` and `--kind verify` read both: asking for checks must not
 * answer "none" because of how they are filed.
 */
const runKindsOf: Record<Exclude<HistoryKind, 'drill'>, RunKind[]> = {
  backup: ['backup'],
  check: ['check', 'verify'],
  verify: ['check', 'verify'],
  tier: ['tier'],
  copy: ['copy'],
  restore: ['restore'],
  forget: ['forget'],
};

export function parseHistoryKind(text: string): HistoryKind {
  const kind = historyKinds.find((k) => k === text);
  if (kind === undefined) throw new LifeboatError('USAGE', `--kind must be one of ${historyKinds.join(', ')}, got "${text}"`);
  return kind;
}

/** The newest `limit` entries of the kinds asked for; each store list is asked for at most `limit`, never the whole history. */
export async function readHistory(store: Store, query: HistoryQuery): Promise<HistoryEntry[]> {
  const { runbook, kind, limit } = query;
  const reads: Promise<HistoryEntry[]>[] = [];
  if (kind === undefined || kind === 'drill') {
    reads.push(store.listDrills({ runbook, limit }).then((drills) => drills.map((d) => ({ ...d, kind: 'drill' as const }))));
  }
  if (kind === undefined) reads.push(store.listRuns({ runbook, limit }));
  else if (kind !== 'drill') for (const k of runKindsOf[kind]) reads.push(store.listRuns({ runbook, kind: k, limit }));
  const lists = await Promise.all(reads);
  return newestFirst(lists.flat()).slice(0, limit);
}

/** By start time as an instant; each list comes newest first already, and a tie keeps the order they were read in. */
function newestFirst(entries: HistoryEntry[]): HistoryEntry[] {
  const at = (e: HistoryEntry) => {
    const ms = Date.parse(e.startedAt);
    return Number.isNaN(ms) ? -Infinity : ms;
  };
  return entries
    .map((e, i) => ({ e, i, t: at(e) }))
    .sort((a, b) => (a.t === b.t ? a.i - b.i : b.t > a.t ? 1 : -1))
    .map((x) => x.e);
}

export function isDrillEntry(e: HistoryEntry): e is DrillRecord & { kind: 'drill' } {
  return e.kind === 'drill';
}
