import { describe, expect, it } from 'vitest';
import { nextRuns } from '../../../src/core/schedule/next-runs.js';
import { formatZoned } from '../../../src/core/schedule/zoned-time.js';
import { scheduledRunbook } from './runbooks.js';

describe('nextRuns', () => {
  const now = new Date('2026-03-06T12:00:00Z'); // a Friday
  const runbooks = [
    scheduledRunbook('app', { backup: '0 2 * * *', verify: '0 4 * * 0', drill: '0 10 * * 1', tier: '0 5 1 * *', timezone: 'Europe/Berlin' }, { announce: '1h' }),
    scheduledRunbook('web', { backup: '0 */6 * * *' }),
    scheduledRunbook('idle', undefined),
  ];

  it('lists every scheduled kind of every runbook, soonest first, with the drill announcement', () => {
    expect(nextRuns(runbooks, now).map((r) => [r.runbook, r.kind, r.at.toISOString(), r.timezone, r.announceAt?.toISOString()])).toEqual([
      ['web', 'backup', '2026-03-06T18:00:00.000Z', 'UTC', undefined],
      ['app', 'backup', '2026-03-07T01:00:00.000Z', 'Europe/Berlin', undefined],
      ['app', 'verify', '2026-03-08T03:00:00.000Z', 'Europe/Berlin', undefined],
      ['app', 'drill', '2026-03-09T09:00:00.000Z', 'Europe/Berlin', '2026-03-09T08:00:00.000Z'],
      ['app', 'tier', '2026-04-01T03:00:00.000Z', 'Europe/Berlin', undefined],
    ]);
  });

  it('gives `limit` runs of each kind', () => {
    const runs = nextRuns(runbooks, now, { limit: 3 });
    expect(runs).toHaveLength(15);
    expect(runs.filter((r) => r.kind === 'drill').map((r) => r.at.toISOString())).toEqual([
      '2026-03-09T09:00:00.000Z',
      '2026-03-16T09:00:00.000Z',
      '2026-03-23T09:00:00.000Z',
    ]);
    expect(runs.filter((r) => r.runbook === 'web').map((r) => r.at.toISOString().slice(11, 16))).toEqual(['18:00', '00:00', '06:00']);
    expect(nextRuns([runbooks[2]!], now, { limit: 5 })).toEqual([]);
  });
});

describe('formatZoned', () => {
  it('shows the wall clock of the zone with its offset', () => {
    expect(formatZoned(new Date('2026-03-29T01:30:00Z'), 'Europe/Berlin')).toBe('Sun 2026-03-29 03:30 +02:00');
    expect(formatZoned(new Date('2026-03-29T00:30:00Z'), 'Europe/Berlin')).toBe('Sun 2026-03-29 01:30 +01:00');
    expect(formatZoned(new Date('2026-11-01T05:30:00Z'), 'America/New_York')).toBe('Sun 2026-11-01 01:30 -04:00');
    expect(formatZoned(new Date('2026-11-01T06:30:00Z'), 'America/New_York')).toBe('Sun 2026-11-01 01:30 -05:00');
    expect(formatZoned(new Date('2026-01-01T00:00:15Z'), 'Asia/Kolkata')).toBe('Thu 2026-01-01 05:30:15 +05:30');
  });
});
