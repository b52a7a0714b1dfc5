import { describe, expect, it } from 'vitest';
import { eventNotifier, fanOutNotifier, silentNotifier, stderrNotifier, type Notifier } from '../../../src/core/alerts/notifier.js';
import type { EngineEvent } from '../../../src/core/events.js';
import type { AlertRecord } from '../../../src/core/store/records.js';
import { checkGolden } from './fixtures.js';

const alert: AlertRecord = {
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
const resolved: AlertRecord = { ...alert, status: 'resolved', resolvedAt: '2026-03-10T13:30:00.000Z', lastSeen: '2026-03-10T13:00:00.000Z', count: 5 };

describe('notifiers', () => {
  it('eventNotifier emits alert.raised and alert.resolved', async () => {
    const events: EngineEvent[] = [];
    const n = eventNotifier((e) => events.push(e));
    await n.raised(alert);
    await n.resolved(resolved);
    expect(events).toEqual([
      { type: 'alert.raised', alert },
      { type: 'alert.resolved', alert: resolved },
    ]);
  });

  it('stderrNotifier writes one line per alert (golden/stderr.txt)', async () => {
    let out = '';
    const n = stderrNotifier({ write: (s: string) => (out += s) });
    await n.raised(alert);
    await n.raised({ ...alert, key: 'anomaly:app-data:bytes', severity: 'warning', count: 1, firstSeen: alert.lastSeen, message: 'backup added 12.0 MiB; the last 10 successful runs added 380–420 MiB (median 400 MiB)' });
    await n.resolved(resolved);
    expect(out.endsWith('\n')).toBe(true);
    checkGolden('stderr', out.trimEnd().split('\n'));
  });

  it('fanOutNotifier tells every sink even when one throws, then reports the failures together', async () => {
    const heard: string[] = [];
    const ok = (name: string): Notifier => ({ raised: async (a) => void heard.push(`${name} ${a.key}`), resolved: async (a) => void heard.push(`${name} resolved ${a.key}`) });
    const throwsAtOnce: Notifier = {
      raised: () => {
        throw new Error('sync boom');
      },
      resolved: async () => Promise.reject(new Error('async boom')),
    };
    const n = fanOutNotifier(ok('a'), throwsAtOnce, ok('b'));
    const raised = n.raised(alert);
    await expect(raised).rejects.toBeInstanceOf(AggregateError);
    await expect(raised).rejects.toThrow('1 of 3 alert sinks failed: sync boom');
    await expect(n.resolved(resolved)).rejects.toThrow('async boom');
    expect(heard).toEqual(['a stale:app-data', 'b stale:app-data', 'a resolved stale:app-data', 'b resolved stale:app-data']);
    await expect(fanOutNotifier(ok('c'), silentNotifier).raised(alert)).resolves.toBeUndefined();
  });
});
