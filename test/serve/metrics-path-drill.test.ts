/**
 * /metrics and path drills (restore-drill --path, issue 20): the last-RTO
 * gauges read whole drills only, so a one-file drill that "meets" the target
 * never stands for the runbook's RTO; the run counter counts path drills
 * under kind `path-drill`, apart from the runbook's drills; and the scrape's
 * windowed store read (a few measured drills per runbook) is not emptied of
 * whole drills by the path drills after them.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import type { DrillRecord } from '../../src/core/index.js';
import { MemoryStore } from '../../src/core/store/index.js';
import { finishedWork, lastDrillPerTier } from '../../src/serve/metrics-facts.js';
import { loadScrapeView } from '../../src/serve/metrics-scrape-view.js';
import { testRunbook } from '../core/alerts/fixtures.js';

const whole: DrillRecord = {
  id: 'd1',
  runbook: 'app-data',
  snapshotId: 'aaaa1111',
  tier: 'hot',
  startedAt: '2026-03-10T10:00:00.000Z',
  endedAt: '2026-03-10T10:20:00.000Z',
  verdict: 'missed',
  rtoMs: 20 * 60_000,
  targetMs: 15 * 60_000,
  phases: [],
  actor: { face: 'scheduler', user: 'scheduler' },
};
const path: DrillRecord = { ...whole, id: 'd2', path: 'data/etc/app.yaml', startedAt: '2026-03-10T11:00:00.000Z', endedAt: '2026-03-10T11:00:01.000Z', verdict: 'met', rtoMs: 900 };
const mistyped: DrillRecord = { ...path, id: 'd3', path: 'data/etc/ap.yaml', verdict: 'failed', rtoMs: undefined, reason: 'path data/etc/ap.yaml is not in snapshot aaaa1111' };

describe('metrics facts with path drills', () => {
  it('the last RTO per tier is the newest whole drill, however many path drills came after', () => {
    expect(lastDrillPerTier([mistyped, path, whole])).toEqual([{ tier: 'hot', rtoSeconds: 1200, targetSeconds: 900, timestampSeconds: Date.parse(whole.startedAt) / 1000, estimated: 0 }]);
    expect(lastDrillPerTier([path])).toEqual([]);
  });

  it('path drills are counted as kind path-drill', () => {
    expect(finishedWork([], [mistyped, path, whole]).map((w) => `${w.kind} ${w.outcome}`)).toEqual(['path-drill failed', 'path-drill met', 'drill missed']);
  });
});

describe('the scrape view with path drills', () => {
  it('keeps the last whole drill when more path drills than the window came after it', async () => {
    const store = new MemoryStore();
    await store.putDrill(whole);
    for (let i = 0; i < 5; i++) await store.putDrill({ ...path, id: `p${i}`, startedAt: `2026-03-10T11:0${i}:00.000Z`, endedAt: `2026-03-10T11:0${i}:01.000Z` });
    const other = { ...whole, id: 'o1', runbook: 'orders' };
    await store.putDrill(other);
    const view = await loadScrapeView({ store: async () => store, runbooks: () => [testRunbook(), testRunbook({ name: 'orders' })], clock: new FakeClock('2026-03-10T12:00:00.000Z') });
    expect(view.runbooks.map((r) => [r.name, r.drills.map((d) => `${d.tier} ${d.rtoSeconds}`)])).toEqual([
      ['app-data', ['hot 1200']],
      ['orders', ['hot 1200']],
    ]);
  });
});
