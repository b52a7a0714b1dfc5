import { describe, expect, it } from 'vitest';
import { anomalyRule } from '../../../../src/core/alerts/rules/anomaly.js';
import type { RunRecord } from '../../../../src/core/store/records.js';
import { backupRun, checkGolden, DAY, MiB, MINUTE, nightly, ruleContext, scenarioLines, SECOND, testRunbook, type RunSpec } from '../fixtures.js';

// Ten nights of ordinary history: 380–420 MiB added (median 400), 10,400–10,520 files (median 10,480), 1m02s–1m10s (median 1m05s).
const bytes = [400, 392, 380, 410, 405, 398, 420, 400, 395, 403];
const files = [10_480, 10_470, 10_400, 10_490, 10_485, 10_476, 10_520, 10_480, 10_460, 10_483];
const seconds = [65, 63, 62, 66, 65, 64, 70, 65, 63, 66];
const ordinary = (i: number): RunSpec => ({ stats: { bytesStored: bytes[i % 10]! * MiB, files: files[i % 10]! }, durationMs: seconds[i % 10]! * SECOND });

const latestAt = '2026-03-10T02:00:00Z';
/** `latest` on top of `count` nights of ordinary history ending the night before. */
function withHistory(latest: RunSpec, count = 10, vary: (i: number) => RunSpec = ordinary): RunRecord[] {
  return [backupRun(latestAt, latest), ...nightly(count, vary, Date.parse(latestAt) - DAY)];
}
const normal: RunSpec = { stats: { bytesStored: 402 * MiB, files: 10_490 }, durationMs: 66 * SECOND };
const evaluate = (runs: RunRecord[], runbook = testRunbook()) => anomalyRule.evaluate(ruleContext({ runs, runbook }));

const scenarios = {
  'an ordinary run': () => evaluate(withHistory(normal)),
  'backup added 12 MiB': () => evaluate(withHistory({ ...normal, stats: { bytesStored: 12 * MiB, files: 10_490 } })),
  'backup added 2 GiB': () => evaluate(withHistory({ ...normal, stats: { bytesStored: 2048 * MiB, files: 10_490 } })),
  'files dropped to 8,000': () => evaluate(withHistory({ ...normal, stats: { bytesStored: 402 * MiB, files: 8_000 } })),
  'took 4m05s': () => evaluate(withHistory({ ...normal, durationMs: 4 * MINUTE + 5 * SECOND })),
  'everything at once': () => evaluate(withHistory({ stats: { bytesStored: 0, files: 12 }, durationMs: 3 * SECOND })),
  'only 4 runs of history (minHistory 5)': () => evaluate(withHistory({ ...normal, stats: { bytesStored: 12 * MiB, files: 10_490 } }, 4)),
  'exactly 5 runs of history': () => evaluate(withHistory({ ...normal, stats: { bytesStored: 12 * MiB, files: 10_490 } }, 5)),
  'flat history (0 B every night), then 3 MiB': () => evaluate(withHistory({ ...normal, stats: { bytesStored: 3 * MiB, files: 10_480 } }, 10, (i) => ({ ...ordinary(i), stats: { bytesStored: 0, files: 10_480 } }))),
  'flat history (0 B every night), then 40 MiB': () => evaluate(withHistory({ ...normal, stats: { bytesStored: 40 * MiB, files: 10_480 } }, 10, (i) => ({ ...ordinary(i), stats: { bytesStored: 0, files: 10_480 } }))),
};

describe('anomaly rule', () => {
  it('is silent for a run like its history', () => {
    expect(scenarios['an ordinary run']()).toEqual([]);
  });

  it('names the evidence: the value, the range and median of the history it compared against', () => {
    const [c, ...more] = scenarios['backup added 12 MiB']();
    expect(more).toEqual([]);
    expect(c).toMatchObject({ key: 'anomaly:app-data:bytes', severity: 'warning', evidence: { metric: 'bytes', history: 10, median: 400 * MiB, min: 380 * MiB, max: 420 * MiB } });
    expect(c!.message).toBe('backup added 12.0 MiB; the last 10 successful runs added 380–420 MiB (median 400 MiB)');
  });

  it('flags both directions, and each metric under its own key', () => {
    expect(scenarios['backup added 2 GiB']().map((c) => c.key)).toEqual(['anomaly:app-data:bytes']);
    expect(scenarios['files dropped to 8,000']().map((c) => c.key)).toEqual(['anomaly:app-data:files']);
    expect(scenarios['took 4m05s']().map((c) => c.key)).toEqual(['anomaly:app-data:duration']);
    expect(scenarios['everything at once']().map((c) => c.key)).toEqual(['anomaly:app-data:bytes', 'anomaly:app-data:files', 'anomaly:app-data:duration']);
  });

  it('is silent until minHistory successful runs exist', () => {
    expect(scenarios['only 4 runs of history (minHistory 5)']()).toEqual([]);
    expect(scenarios['exactly 5 runs of history']()).toHaveLength(1);
    // Failed and partial runs are not history.
    const failures = Array.from({ length: 6 }, (_, i) => backupRun(Date.parse(latestAt) - (i + 1) * DAY, { status: i % 2 ? 'failed' : 'partial' }));
    const runs = [backupRun(latestAt, { stats: { bytesStored: 12 * MiB, files: 10_490 } }), ...failures, ...nightly(4, ordinary, Date.parse(latestAt) - 7 * DAY)];
    expect(evaluate(runs)).toEqual([]);
    expect(evaluate(runs, testRunbook({ anomaly: { minHistory: 4 } }))).toHaveLength(1);
  });

  it('compares against the last `window` successful runs only', () => {
    // 3 recent nights of ~12 MiB after a long 400 MiB history: with window 3, 12 MiB is the new normal.
    const small = (i: number): RunSpec => (i < 3 ? { ...ordinary(i), stats: { bytesStored: (11 + i) * MiB, files: 10_480 } } : ordinary(i));
    const runs = withHistory({ ...normal, stats: { bytesStored: 12 * MiB, files: 10_490 } }, 12, small);
    expect(evaluate(runs, testRunbook({ anomaly: { window: 3, minHistory: 3 } }))).toEqual([]);
    const [c] = evaluate(runs);
    expect(c?.evidence).toMatchObject({ history: 10 });
  });

  it('judges the latest successful run: a failed run after it changes nothing, a partial one is not judged', () => {
    const runs = [backupRun('2026-03-10T11:00:00Z', { status: 'failed', stats: { bytesStored: 0, files: 0 } }), ...withHistory(normal)];
    expect(evaluate(runs)).toEqual([]);
    const partial = [backupRun('2026-03-10T11:00:00Z', { status: 'partial', stats: { bytesStored: MiB, files: 3 } }), ...withHistory(normal)];
    expect(evaluate(partial)).toEqual([]);
  });

  it('does not call every small change in a flat history an anomaly (the spread has a floor)', () => {
    expect(scenarios['flat history (0 B every night), then 3 MiB']()).toEqual([]);
    expect(scenarios['flat history (0 B every night), then 40 MiB']().map((c) => c.key)).toEqual(['anomaly:app-data:bytes']);
    // 10,480 files every night: 10,300 is within 5% × 3.5; 8,000 is not.
    const flatFiles = (i: number): RunSpec => ({ ...ordinary(i), stats: { bytesStored: 400 * MiB, files: 10_480 } });
    expect(evaluate(withHistory({ ...normal, stats: { bytesStored: 400 * MiB, files: 10_300 } }, 10, flatFiles))).toEqual([]);
    expect(evaluate(withHistory({ ...normal, stats: { bytesStored: 400 * MiB, files: 8_000 } }, 10, flatFiles))).toHaveLength(1);
  });

  it('takes its threshold from the runbook', () => {
    const runs = withHistory({ ...normal, stats: { bytesStored: 12 * MiB, files: 10_490 } });
    expect(evaluate(runs, testRunbook({ anomaly: { threshold: 25 } }))).toEqual([]);
    expect(evaluate(runs, testRunbook({ anomaly: { threshold: 15 } }))).toHaveLength(1);
  });

  it('skips a metric the records lack, and falls back to bytesNew for size', () => {
    const noStats = withHistory({ durationMs: 66 * SECOND, stats: undefined });
    expect(evaluate(noStats)).toEqual([]);
    const older = withHistory({ ...normal, stats: { bytesNew: 12 * MiB, files: 10_490 } }, 10, (i) => ({ ...ordinary(i), stats: { bytesNew: bytes[i]! * MiB, files: files[i]! } }));
    expect(evaluate(older).map((c) => c.key)).toEqual(['anomaly:app-data:bytes']);
  });

  it('messages match golden/anomaly.txt', () => {
    checkGolden('anomaly', scenarioLines(Object.fromEntries(Object.entries(scenarios).map(([k, f]) => [k, f()]))));
  });
});
