/** Runbooks, runs and drills built in the test, on fake time, for the alert rules. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { AlertCondition } from '../../../src/core/alerts/rule.js';
import type { Runbook } from '../../../src/core/runbook/types.js';
import type { DrillRecord, RunRecord, StageRecord } from '../../../src/core/store/records.js';

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
export const MiB = 1024 * 1024;

export const NOW = '2026-03-10T12:00:00.000Z';

export function testRunbook(overrides: { name?: string; rpoMs?: number; rtoMs?: number; anomaly?: Partial<Runbook['alerts']['anomaly']> } = {}): Runbook {
  return {
    name: overrides.name ?? 'app-data',
    file: '/etc/lifeboat/runbooks/app-data.yaml',
    sources: [{ kind: 'path', name: 'data', path: '/srv/data', exclude: [] }],
    hooks: { before: [], after: [] },
    repository: { hot: { url: 'file:///srv/backup/app-data' }, password: { kind: 'env', name: 'LIFEBOAT_PASSWORD' } },
    objectives: { rpoMs: overrides.rpoMs ?? 26 * HOUR, rtoMs: overrides.rtoMs ?? 5 * MINUTE },
    verify: { readDataFraction: 0.1 },
    drill: { timeoutMs: 30 * MINUTE },
    alerts: { anomaly: { window: 10, minHistory: 5, threshold: 3.5, ...overrides.anomaly } },
    access: { backup: [], drill: [] },
    transfer: { concurrency: 4 },
  };
}

const iso = (ms: number) => new Date(ms).toISOString();
const stamp = (ms: number) => iso(ms).replace(/[-:]/g, '').replace(/\..*/, '');

const okStages = (): StageRecord[] =>
  (['discover', 'snapshot', 'transfer', 'verify'] as const).map((name): StageRecord => ({ name, status: 'succeeded', counters: name === 'verify' ? { problems: 0, packsRead: 3 } : {} }));

export interface RunSpec extends Partial<Omit<RunRecord, 'stats'>> {
  /** When the run ended (ISO or ms); it started durationMs earlier. */
  endedAt?: string;
  stats?: Record<string, number>;
}

/** A backup run that ended at `ended`, succeeded by default, 400 MiB added, 10,000 files, 1 minute. */
export function backupRun(ended: string | number, spec: RunSpec = {}): RunRecord {
  const endMs = typeof ended === 'number' ? ended : Date.parse(ended);
  const durationMs = spec.durationMs ?? MINUTE;
  const startMs = endMs - durationMs;
  return {
    id: `${stamp(startMs)}-${(spec.status ?? 'succeeded').slice(0, 3)}`,
    runbook: 'app-data',
    kind: 'backup',
    status: 'succeeded',
    startedAt: iso(startMs),
    endedAt: iso(endMs),
    durationMs,
    actor: { face: 'scheduler', user: 'scheduler' },
    host: 'backup-host',
    pid: 4242,
    stages: okStages(),
    stats: { files: 10_000, bytesStored: 400 * MiB },
    ...spec,
  };
}

/**
 * Nightly successful runs ending at 02:00, newest first, the newest on the night
 * before `NOW`. `vary(i)` gives run i (0 = newest) its own fields.
 */
export function nightly(count: number, vary: (i: number) => RunSpec = () => ({}), newest = Date.parse('2026-03-10T02:00:00Z')): RunRecord[] {
  return Array.from({ length: count }, (_, i) => backupRun(newest - i * DAY, vary(i)));
}

/** A drill that started at `started` and was validated after rtoMs; verdict from the target unless given. */
export function drill(started: string | number, rtoMs: number | undefined, spec: Partial<DrillRecord> = {}): DrillRecord {
  const startMs = typeof started === 'number' ? started : Date.parse(started);
  const targetMs = spec.targetMs ?? 5 * MINUTE;
  return {
    id: `drill-${stamp(startMs)}`,
    runbook: 'app-data',
    snapshotId: '4f9a1c2e7b3d5a6f8e0c1b2a3d4e5f60718293a4b5c6d7e8f9012345678abcd',
    tier: 'hot',
    startedAt: iso(startMs),
    endedAt: rtoMs === undefined ? undefined : iso(startMs + rtoMs),
    verdict: rtoMs === undefined ? 'failed' : rtoMs > targetMs ? 'missed' : 'met',
    rtoMs,
    targetMs,
    phases:
      rtoMs === undefined
        ? []
        : [
            { name: 'plan', durationMs: Math.round(rtoMs * 0.02) },
            { name: 'fetch', durationMs: Math.round(rtoMs * 0.6), bytes: 2048 * MiB },
            { name: 'write', durationMs: Math.round(rtoMs * 0.28), bytes: 2048 * MiB },
            { name: 'validate', durationMs: Math.round(rtoMs * 0.1) },
          ],
    actor: { face: 'scheduler', user: 'scheduler' },
    ...spec,
  };
}

/** Weekly drills, newest first, the newest started at `newest`; `rto(i)` is drill i's RTO. */
export function weeklyDrills(count: number, rto: (i: number) => number, newest = Date.parse('2026-03-09T10:00:00Z')): DrillRecord[] {
  return Array.from({ length: count }, (_, i) => drill(newest - i * 7 * DAY, rto(i)));
}

/** `SEVERITY key  message`: what a golden file holds per condition. */
export function conditionLine(c: AlertCondition): string {
  return `${c.severity.toUpperCase()} ${c.key}  ${c.message}`;
}

const goldenDir = fileURLToPath(new URL('./golden/', import.meta.url));

/**
 * Compare `lines` with golden/<name>.txt line by line. UPDATE_GOLDEN=1 rewrites
 * the file: review the diff by hand before keeping it.
 */
export function checkGolden(name: string, lines: readonly string[]): void {
  const file = `${goldenDir}${name}.txt`;
  const actual = `${lines.join('\n')}\n`;
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, actual);
  expect(existsSync(file), `${file} missing: run with UPDATE_GOLDEN=1 and review it`).toBe(true);
  const expected = readFileSync(file, 'utf8').split('\n');
  const got = actual.split('\n');
  for (let i = 0; i < Math.max(expected.length, got.length); i++) {
    expect(got[i], `${name}.txt line ${i + 1}`).toBe(expected[i]);
  }
}

/** A rule context on `NOW` (or `now`) for the default test runbook. */
export function ruleContext(parts: { runs?: RunRecord[]; drills?: DrillRecord[]; now?: string | number; runbook?: Runbook } = {}) {
  return {
    runbook: parts.runbook ?? testRunbook(),
    runs: parts.runs ?? [],
    drills: parts.drills ?? [],
    now: new Date(parts.now ?? NOW),
  };
}

/** Golden text for a rule: `# scenario` then one `SEVERITY key  message` line per condition, or `(no alert)`. */
export function scenarioLines(scenarios: Record<string, readonly AlertCondition[]>): string[] {
  return Object.entries(scenarios).flatMap(([name, conditions]) => [`# ${name}`, ...(conditions.length === 0 ? ['(no alert)'] : conditions.map(conditionLine))]);
}
