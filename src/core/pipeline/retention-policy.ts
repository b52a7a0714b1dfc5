/**
 * Retention as a pure function: given the snapshots of one runbook, a policy and
 * the current time, decide which snapshots to keep and say why for every one of
 * them — kept or forgotten. No I/O, no clock: `now` and the time zone are inputs,
 * so `lifeboat forget --dry-run`, the retention stage and the golden tests all see
 * the same plan for the same inputs.
 *
 * Semantics follow restic's `forget --keep-*`:
 * - `last N` keeps the N newest snapshots.
 * - `hourly|daily|weekly|monthly|yearly N` walks the snapshots newest first and
 *   keeps the newest snapshot of each period, until N distinct periods *that have
 *   snapshots* are covered (a week without backups does not use up a `weekly`).
 *   Periods are calendar periods in `options.timezone` (default UTC); weeks are
 *   ISO 8601 weeks (Monday first, labelled with the ISO week-year, `2026-W01`).
 *   On a DST fall-back day the repeated local hour is one `hourly` period, as in
 *   restic (which buckets by wall-clock time too).
 * - `within D` keeps every snapshot strictly newer than `now − D`. Unlike restic
 *   (which measures from the newest snapshot) this is measured from `now`, so a
 *   policy of only `within` forgets everything once backups have stopped for D;
 *   the runbook schema's "keeps nothing" check does not catch that — pair
 *   `within` with `last` when that matters.
 * - A policy with no rule above zero keeps everything ("no retention policy").
 * - A snapshot whose time cannot be parsed is kept, never forgotten: retention
 *   must not delete what it does not understand.
 *
 * Order is deterministic: newest first; equal times are ordered by id, ascending.
 */
import { LifeboatError } from '../errors.js';
import type { RetentionPolicy } from '../runbook/types.js';

export interface RetentionInput {
  id: string;
  /** ISO 8601 timestamp of the snapshot. */
  time: string;
}

export interface RetentionKeep {
  id: string;
  time: string;
  /** Every rule that selected this snapshot, in rule order (last, hourly … yearly, within). */
  reasons: string[];
}

export interface RetentionForget {
  id: string;
  time: string;
  reason: string;
}

export interface RetentionPlan {
  /** Newest first. */
  keep: RetentionKeep[];
  /** Newest first. */
  forget: RetentionForget[];
}

export interface RetentionOptions {
  now: Date;
  /** IANA time zone that hours, days, weeks, months and years are counted in. Default UTC. */
  timezone?: string;
}

type BucketRule = 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';
const bucketRules: readonly BucketRule[] = ['hourly', 'daily', 'weekly', 'monthly', 'yearly'];
const countRules = ['last', ...bucketRules] as const;

interface Entry extends RetentionInput {
  ms: number;
}

/** Newest first; ties by id; unparseable times last (they are kept anyway). */
function compareNewestFirst(a: { ms: number; id: string }, b: { ms: number; id: string }): number {
  const an = Number.isNaN(a.ms);
  const bn = Number.isNaN(b.ms);
  if (an !== bn) return an ? 1 : -1;
  if (!an && a.ms !== b.ms) return b.ms - a.ms;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function validate(policy: RetentionPolicy): void {
  for (const rule of countRules) {
    const n = policy[rule];
    if (n !== undefined && !(Number.isInteger(n) && n >= 0)) {
      throw new LifeboatError('USAGE', `Retention "${rule}" must be a whole number ≥ 0, got ${String(n)}`);
    }
  }
  const w = policy.withinMs;
  if (w !== undefined && !(Number.isFinite(w) && w >= 0)) {
    throw new LifeboatError('USAGE', `Retention "within" must be a duration ≥ 0, got ${String(w)} ms`);
  }
}

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: timezone,
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        hourCycle: 'h23',
      });
    } catch {
      throw new LifeboatError('USAGE', `Unknown time zone for retention: "${timezone}"`);
    }
    formatters.set(timezone, f);
  }
  return f;
}

function localParts(ms: number, timezone: string): LocalParts {
  const parts: Partial<Record<string, number>> = {};
  for (const p of formatterFor(timezone).formatToParts(ms)) {
    if (p.type === 'year' || p.type === 'month' || p.type === 'day' || p.type === 'hour') parts[p.type] = Number(p.value);
  }
  return { year: parts.year ?? 0, month: parts.month ?? 0, day: parts.day ?? 0, hour: (parts.hour ?? 0) % 24 };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** ISO 8601 week-year and week of a calendar date. */
export function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  const dayMs = 86_400_000;
  const date = Date.UTC(year, month - 1, day);
  const weekday = (new Date(date).getUTCDay() + 6) % 7; // Monday = 0
  const thursday = date + (3 - weekday) * dayMs;
  const weekYear = new Date(thursday).getUTCFullYear();
  const week = 1 + Math.floor((thursday - Date.UTC(weekYear, 0, 1)) / (7 * dayMs));
  return { year: weekYear, week };
}

/** The label of the period a local time falls in; equal labels mean the same period. */
function periodLabel(rule: BucketRule, t: LocalParts): string {
  switch (rule) {
    case 'hourly':
      return `${t.year}-${pad(t.month)}-${pad(t.day)} ${pad(t.hour)}:00`;
    case 'daily':
      return `${t.year}-${pad(t.month)}-${pad(t.day)}`;
    case 'weekly': {
      const w = isoWeek(t.year, t.month, t.day);
      return `${w.year}-W${pad(w.week)}`;
    }
    case 'monthly':
      return `${t.year}-${pad(t.month)}`;
    case 'yearly':
      return `${t.year}`;
  }
}

/** 30d, 1d12h, 36m, 1h30m, 45s, 500ms — the largest exact units. */
export function formatWithin(ms: number): string {
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ];
  if (ms === 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${name}`;
      rest -= n * size;
    }
  }
  return out;
}

function joinList(items: readonly string[]): string {
  return items.join(', ');
}

export function applyRetention(
  snapshots: readonly RetentionInput[],
  policy: RetentionPolicy,
  options: RetentionOptions,
): RetentionPlan {
  validate(policy);
  const timezone = options.timezone ?? 'UTC';
  formatterFor(timezone); // an unknown zone is an error even with no snapshots
  const nowMs = options.now.getTime();
  if (Number.isNaN(nowMs)) throw new LifeboatError('USAGE', 'Retention needs a valid "now"');

  const entries: Entry[] = snapshots
    .map((s) => ({ id: s.id, time: s.time, ms: Date.parse(s.time) }))
    .sort(compareNewestFirst);

  const last = policy.last ?? 0;
  const buckets = bucketRules
    .map((rule) => ({ rule, n: policy[rule] ?? 0 }))
    .filter((b) => b.n > 0)
    .map((b) => ({ ...b, left: b.n, lastLabel: undefined as string | undefined }));
  const withinMs = policy.withinMs !== undefined && policy.withinMs > 0 ? policy.withinMs : undefined;
  const within = withinMs === undefined ? undefined : formatWithin(withinMs);
  const noPolicy = last === 0 && buckets.length === 0 && within === undefined;

  const keep: RetentionKeep[] = [];
  const forget: RetentionForget[] = [];
  let position = 0;

  for (const e of entries) {
    if (noPolicy) {
      keep.push({ id: e.id, time: e.time, reasons: ['no retention policy'] });
      continue;
    }
    if (Number.isNaN(e.ms)) {
      keep.push({ id: e.id, time: e.time, reasons: [`time "${e.time}" is not a valid timestamp, kept to be safe`] });
      continue;
    }
    position++;
    const reasons: string[] = [];
    const olderThan: string[] = [];
    const superseded: string[] = [];

    if (last > 0) {
      if (position <= last) reasons.push(`last ${last} (#${position})`);
      else olderThan.push(`last ${last}`);
    }

    if (buckets.length > 0) {
      const local = localParts(e.ms, timezone);
      for (const b of buckets) {
        const label = periodLabel(b.rule, local);
        if (label === b.lastLabel) {
          superseded.push(`${b.rule} ${label}`);
        } else if (b.left > 0) {
          b.left--;
          b.lastLabel = label;
          reasons.push(`${b.rule} ${b.n} (${label})`);
        } else {
          olderThan.push(`${b.n} ${b.rule}`);
        }
      }
    }

    if (within !== undefined && withinMs !== undefined) {
      if (e.ms > nowMs - withinMs) reasons.push(`within ${within}`);
    }

    if (reasons.length > 0) {
      keep.push({ id: e.id, time: e.time, reasons });
      continue;
    }
    const why: string[] = [];
    if (olderThan.length > 0) why.push(`older than the ${joinList(olderThan)} kept`);
    if (superseded.length > 0) why.push(`a newer snapshot is kept for ${joinList(superseded)}`);
    if (within !== undefined) why.push(`not within ${within}`);
    forget.push({ id: e.id, time: e.time, reason: `not selected by any rule: ${why.join('; ')}` });
  }

  return { keep, forget };
}

/**
 * The plan as `lifeboat forget --dry-run` prints it: one line per snapshot,
 * newest first, kept and forgotten interleaved.
 *
 *     keep   1a2b3c4d  2026-11-30T02:00:00Z  last 3 (#1), daily 7 (2026-11-30)
 *     forget 5e6f7a8b  2026-11-22T02:00:00Z  not selected by any rule: …
 */
export function renderRetentionPlan(plan: RetentionPlan): string {
  const rows = [
    ...plan.keep.map((k) => ({ id: k.id, time: k.time, ms: Date.parse(k.time), line: `keep   ${k.id.slice(0, 8)}  ${k.time}  ${k.reasons.join(', ')}` })),
    ...plan.forget.map((f) => ({ id: f.id, time: f.time, ms: Date.parse(f.time), line: `forget ${f.id.slice(0, 8)}  ${f.time}  ${f.reason}` })),
  ].sort(compareNewestFirst);
  return rows.map((r) => `${r.line}\n`).join('');
}
