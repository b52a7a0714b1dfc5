/**
 * The one harness every use case runs in (src/core/use-cases/recorded-run.ts),
 * driven through core's surface against a real local repository and a store:
 * the lock each action declares is the one it takes; an action refused by a
 * lock records nothing (run lock) or nothing that reads as a failed
 * verification (repository lock); and a run left `running` by a dead process
 * is closed by the next recorded run as what it was.
 */
import { spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/core/backends/local-backend.js';
import {
  backup,
  check,
  evaluateAlerts,
  eventNotifier,
  forget,
  init,
  isLifeboatError,
  loadRunbook,
  policies,
  RunLock,
  systemClock,
  type EngineEvent,
  type RunContext,
  type RunRecord,
  type Runbook,
} from '../../src/core/index.js';
import { lockRepository } from '../../src/core/runs/repository-lock.js';
import { MemoryStore } from '../../src/core/store/index.js';
import { TEST_KEYS_ENV } from '../helpers/cli.js';
import { writeRandomFiles } from '../helpers/pipeline-process.js';
import { PIPELINE_PASSWORD, writePipelineRunbook } from '../helpers/pipeline-runbook.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('run-harness');

let base: string;
let repo: string;
let runbook: Runbook;

beforeAll(async () => {
  base = await tempDir();
  repo = join(base, 'repo');
  await mkdir(join(base, 'src'));
  await writeRandomFiles(join(base, 'src'), 3, 256 * 1024);
  const file = writePipelineRunbook(base, 'harness', { repo, sources: [{ name: 'data', path: 'src' }], retention: { last: 2 } });
  runbook = await loadRunbook(file, { runbooksDir: base, home: join(base, 'home'), cwd: base });
  await init(context().ctx);
});

/** A run context on a fresh store (or the one given), collecting what the run emits. */
function context(store = new MemoryStore()): { ctx: RunContext; store: MemoryStore; events: EngineEvent[] } {
  const events: EngineEvent[] = [];
  const ctx: RunContext = {
    runbook,
    store,
    clock: systemClock,
    emit: (e) => events.push(e),
    actor: { face: 'test', user: 'harness' },
    env: { LIFEBOAT_PASSWORD: PIPELINE_PASSWORD, ...TEST_KEYS_ENV },
    home: join(base, 'home'),
  };
  return { ctx, store, events };
}

async function refusal(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the action to be refused');
}

/** A pid that was just alive on this host and is not any more. */
function deadPid(): number {
  const gone = spawnSync(process.execPath, ['-e', '0']);
  expect(gone.status).toBe(0);
  return gone.pid;
}

describe('the use-case policies', () => {
  it('declare the lock each action takes: drills read under a shared lock, forget and prune alone', () => {
    const table = Object.fromEntries(Object.values(policies).map((p) => [p.action, `${p.lock}, records ${p.records}${p.runLock ? ', run lock' : ''}${p.alerts ? ', alerts' : ''}`]));
    expect(table).toEqual({
      backup: 'shared, records backup, run lock, alerts',
      resume: 'shared, records nothing, run lock, alerts',
      tier: 'shared, records tier, run lock',
      copy: 'shared, records copy, run lock, alerts',
      'tier --dry-run': 'none, records nothing',
      restore: 'shared, records nothing',
      'restore --estimate': 'none, records nothing',
      'restore-drill': 'shared, records drill, alerts',
      'restore-drill --estimate': 'none, records drill, alerts',
      check: 'shared, records verify, alerts',
      forget: 'exclusive, records nothing',
      maintain: 'shared, records nothing',
      migrate: 'exclusive, records nothing',
      'repair-index': 'exclusive, records nothing',
      init: 'none, records nothing',
      snapshots: 'none, records nothing',
      status: 'none, records nothing',
      ls: 'shared, records nothing',
      find: 'shared, records nothing',
      diff: 'shared, records nothing',
      dump: 'shared, records nothing',
    });
  });
});

describe('the harness', () => {
  it('takes the declared lock: check (shared) is refused while another holds the repository exclusively, and records no failed verification', async () => {
    const held = await lockRepository(new LocalBackend(repo), { mode: 'exclusive', purpose: 'prune by the test' });
    const { ctx, store } = context();
    try {
      const e = await refusal(check({ ...ctx, readData: 0 }));
      expect(isLifeboatError(e, 'REPO_LOCKED'), String(e)).toBe(true);
      expect(e.message).toContain(`locked exclusively by prune by the test (pid ${process.pid} on ${hostname()}`);
    } finally {
      await held.release();
    }
    const [run] = await store.listRuns({ runbook: 'harness' });
    expect(run).toMatchObject({ kind: 'verify', status: 'failed', error: { code: 'REPO_LOCKED' } });
    // Its verify stage did nothing: skipped, so the verify-failed rule does not page for a healthy repository.
    expect(run!.stages).toMatchObject([{ name: 'verify', status: 'skipped' }]);
    const alerts = await evaluateAlerts({ runbook, store, clock: systemClock, notifier: eventNotifier(() => undefined) });
    expect(alerts.conditions.map((c) => c.key)).not.toContain('verify-failed:harness');
    // With the repository free again, the same check passes.
    const again = await check({ ...ctx, readData: 1 });
    expect(again.problems).toBe(0);
    expect(again.run.status).toBe('succeeded');
  });

  it('forget (exclusive) is refused while a check holds a shared lock; a shared holder does not stop another', async () => {
    const reading = await lockRepository(new LocalBackend(repo), { mode: 'shared', purpose: 'check by the test' });
    try {
      const e = await refusal(forget({ ...context().ctx, dryRun: false, prune: true }));
      expect(isLifeboatError(e, 'REPO_LOCKED'), String(e)).toBe(true);
      expect(e.message).toContain('locked by check by the test');
      expect((await check({ ...context().ctx, readData: 0 })).run.status).toBe('succeeded');
    } finally {
      await reading.release();
    }
  });

  it('records nothing for an action refused by the run lock, and names the holder', async () => {
    const lock = await RunLock.acquire(join(base, 'home'), { runbook: 'harness', startedAt: new Date().toISOString(), by: 'the test' });
    const { ctx, store } = context();
    try {
      const e = await refusal(backup(ctx));
      expect(isLifeboatError(e, 'RUN_LOCKED'), String(e)).toBe(true);
      expect(e.message).toContain(`harness is already running: pid ${process.pid} on ${hostname()} for the test`);
    } finally {
      await lock.release();
    }
    expect(await store.listRuns()).toEqual([]);
  });

  it('closes runs a dead process left running, as what they were; runs of live processes and other hosts stay', async () => {
    const store = new MemoryStore();
    const started = '2026-03-10T02:00:00.000Z';
    const stage = (name: RunRecord['stages'][number]['name'], status: RunRecord['stages'][number]['status'], endedAt?: string) => ({ name, status, counters: {}, startedAt: started, ...(endedAt ? { endedAt } : {}) });
    const run = (id: string, spec: Partial<RunRecord>): RunRecord => ({
      id,
      runbook: 'harness',
      kind: 'backup',
      status: 'running',
      startedAt: started,
      actor: { face: 'test', user: 'harness' },
      host: hostname(),
      pid: deadPid(),
      stages: [],
      ...spec,
    });
    // Died while reading its sources: nothing of it is in the repository.
    await store.putRun(run('a-walking', { stages: [stage('discover', 'running'), stage('snapshot', 'running')] }));
    // Died verifying: its snapshot is in the repository.
    await store.putRun(run('b-verifying', { snapshotId: 'b'.repeat(64), stages: [stage('snapshot', 'succeeded', '2026-03-10T02:05:00.000Z'), stage('transfer', 'succeeded', '2026-03-10T02:06:00.000Z'), stage('verify', 'running')] }));
    // Died uploading: its snapshot waits in staging.
    await store.putRun(run('c-uploading', { snapshotId: 'c'.repeat(64), stages: [stage('snapshot', 'succeeded', '2026-03-10T02:05:00.000Z'), stage('transfer', 'running')] }));
    await store.putRun(run('d-alive', { pid: process.pid, stages: [stage('snapshot', 'running')] }));
    await store.putRun(run('e-elsewhere', { host: 'another-host', stages: [stage('snapshot', 'running')] }));

    const { ctx, events } = context(store);
    const checked = await check({ ...ctx, readData: 0 });
    const byId = new Map((await store.listRuns({ runbook: 'harness' })).map((r) => [r.id, r]));

    expect(byId.get('a-walking')).toMatchObject({ status: 'failed', error: { code: 'INTERNAL' } });
    expect(byId.get('a-walking')!.error!.message).toMatch(/^process \d+ on .* died during the run \(found by run /);
    expect(byId.get('a-walking')!.stages.map((s) => s.status)).toEqual(['failed', 'failed']);

    expect(byId.get('b-verifying')).toMatchObject({ status: 'partial', endedAt: '2026-03-10T02:06:00.000Z' });
    expect(byId.get('b-verifying')!.error!.message).toContain('died after snapshot bbbbbbbb was written to the repository');
    expect(byId.get('b-verifying')!.stages.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'failed']);

    expect(byId.get('c-uploading')).toMatchObject({ status: 'transfer-pending', endedAt: '2026-03-10T02:05:00.000Z' });
    expect(byId.get('c-uploading')!.error!.message).toContain('died after snapshot cccccccc was staged');
    expect(byId.get('c-uploading')!.stages.find((s) => s.name === 'transfer')).toMatchObject({ status: 'failed', error: { code: 'TRANSFER_PENDING' } });

    expect(byId.get('d-alive')!.status).toBe('running');
    expect(byId.get('e-elsewhere')!.status).toBe('running');
    // The run that found them says so.
    const warnings = events.flatMap((e) => (e.type === 'log' && e.level === 'warn' ? [e.message] : []));
    for (const id of ['a-walking', 'b-verifying', 'c-uploading']) expect(warnings.some((m) => m.startsWith(`run ${id} was left running`))).toBe(true);
    expect(checked.run.status).toBe('succeeded');
  });
});
