/**
 * Which of a runbook's snapshots a search looks through: `all`, the newest
 * `N`, or those `since D` (a date, a time, or a duration back from now:
 * `since 2026-12-01`, `since 2026-12-01T08:00Z`, `since 7d`).
 */
import { LifeboatError } from '../errors.js';
import type { Snapshot } from '../repo/snapshot.js';
import { parseDuration } from '../runbook/units.js';

export type SnapshotWindow = { kind: 'all' } | { kind: 'newest'; count: number } | { kind: 'since'; time: Date };

const EXPECTED = 'expected all, a number (the newest N), or "since D" with D a date (2026-12-01), a time (2026-12-01T08:00Z) or a duration back from now (7d)';

export function parseSnapshotWindow(text: string, now: Date): SnapshotWindow {
  const t = text.trim();
  if (t === 'all') return { kind: 'all' };
  if (/^\d+$/.test(t)) {
    const count = Number(t);
    if (count < 1 || !Number.isSafeInteger(count)) throw new LifeboatError('USAGE', `--snapshots ${text}: ${EXPECTED}`);
    return { kind: 'newest', count };
  }
  const since = /^since[\s=:]+(.+)$/.exec(t);
  if (since) return { kind: 'since', time: parseWhen(since[1]!, now, `--snapshots ${text}`) };
  throw new LifeboatError('USAGE', `--snapshots ${text}: ${EXPECTED}`);
}

/** A date, a time, or a duration back from `now` (`3d`). */
export function parseWhen(text: string, now: Date, what: string): Date {
  const t = text.trim();
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) {
    // A date alone is midnight UTC, like the times Lifeboat prints.
    const iso = t.length === 10 ? `${t}T00:00:00Z` : /Z|[+-]\d{2}:?\d{2}$/.test(t) ? t.replace(' ', 'T') : `${t.replace(' ', 'T')}Z`;
    const ms = Date.parse(iso);
    if (!Number.isNaN(ms)) return new Date(ms);
  }
  let ms: number;
  try {
    ms = parseDuration(t);
  } catch {
    throw new LifeboatError('USAGE', `${what}: "${text}" is neither a date (2026-12-01, 2026-12-01T08:00Z) nor a duration back from now (7d, 12h)`);
  }
  return new Date(now.getTime() - ms);
}

/** The snapshots (oldest first) the window keeps, still oldest first. */
export function applyWindow(snapshots: readonly Snapshot[], window: SnapshotWindow): Snapshot[] {
  if (window.kind === 'all') return [...snapshots];
  if (window.kind === 'newest') return snapshots.slice(-window.count);
  return snapshots.filter((s) => Date.parse(s.time) >= window.time.getTime());
}

export function describeWindow(window: SnapshotWindow): string {
  if (window.kind === 'all') return 'all snapshots';
  if (window.kind === 'newest') return `the newest ${window.count} snapshot${window.count === 1 ? '' : 's'}`;
  return `snapshots since ${window.time.toISOString()}`;
}
