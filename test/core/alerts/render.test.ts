import { describe, expect, it } from 'vitest';
import { compactDuration, formatCount, formatRange, oneLine } from '../../../src/core/alerts/describe.js';
import { renderAlertLine } from '../../../src/core/alerts/render.js';
import { formatBytes } from '../../../src/core/format.js';
import type { AlertRecord } from '../../../src/core/store/records.js';
import { checkGolden, DAY, HOUR, MiB, MINUTE, SECOND } from './fixtures.js';

const now = new Date('2026-03-10T12:00:00Z');
const base: AlertRecord = {
  key: 'stale:app-data',
  runbook: 'app-data',
  rule: 'stale',
  severity: 'critical',
  message: 'last successful backup 27h ago, RPO 26h',
  firstSeen: '2026-03-10T09:00:00.000Z',
  lastSeen: '2026-03-10T12:00:00.000Z',
  count: 4,
  status: 'open',
};

describe('renderAlertLine', () => {
  it('matches golden/render.txt', () => {
    const lines = [
      renderAlertLine(base, now),
      renderAlertLine({ ...base, key: 'rto-over-target:app-data', severity: 'warning', message: 'drill took 7m12s, RTO target 5m; slowest phase fetch 4m19s', firstSeen: base.lastSeen, count: 1 }, now),
      renderAlertLine({ ...base, severity: 'info', message: 'an informational note' }, now),
      renderAlertLine({ ...base, ackedBy: 'U0ALICE1', ackedAt: '2026-03-10T11:00:00.000Z' }, now),
      renderAlertLine({ ...base, status: 'resolved', resolvedAt: '2026-03-10T11:55:00.000Z', count: 5, ackedBy: 'alice', ackedAt: '2026-03-10T10:00:00.000Z' }, now),
    ];
    expect(lines[0]).toBe('CRITICAL stale:app-data  last successful backup 27h ago, RPO 26h  (first seen 3h ago, 4×)');
    checkGolden('render', lines);
  });
});

describe('message units', () => {
  it('compactDuration drops zero parts', () => {
    const cases: [number, string][] = [
      [950, '950ms'],
      [4.5 * SECOND, '4.5s'],
      [4 * SECOND, '4s'],
      [42.9 * SECOND, '42s'],
      [5 * MINUTE, '5m'],
      [7 * MINUTE + 12 * SECOND, '7m12s'],
      [7 * MINUTE + 5 * SECOND, '7m05s'],
      [HOUR, '1h'],
      [26 * HOUR, '26h'],
      [27 * HOUR + 30 * MINUTE + 59 * SECOND, '27h30m'],
      [3 * DAY, '3d'],
      [3 * DAY + 4 * HOUR, '3d04h'],
      [-2 * MINUTE, '-2m'],
    ];
    for (const [ms, text] of cases) expect(compactDuration(ms), String(ms)).toBe(text);
  });

  it('formatRange shares the unit when it can', () => {
    expect(formatRange(380 * MiB, 420 * MiB, formatBytes)).toBe('380–420 MiB');
    expect(formatRange(900 * 1024, 1.2 * MiB, formatBytes)).toBe('900 KiB–1.2 MiB');
    expect(formatRange(400 * MiB, 400 * MiB, formatBytes)).toBe('400 MiB');
    expect(formatRange(62 * SECOND, 70 * SECOND, compactDuration)).toBe('1m02s–1m10s');
    expect(formatRange(10_400, 10_520, formatCount)).toBe('10,400–10,520');
  });

  it('oneLine flattens and bounds text', () => {
    expect(oneLine('a\n  b\n\nc\n')).toBe('a / b / c');
    expect(oneLine('x'.repeat(500), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});
