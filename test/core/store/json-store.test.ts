import { mkdir, readdir, readFile, stat, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/core/clock.js';
import { isLifeboatError, type LifeboatError } from '../../../src/core/errors.js';
import { tempPathOf } from '../../../src/core/store/durable-file.js';
import { withFileLock } from '../../../src/core/store/file-lock.js';
import { openJsonStore, stateFilePath } from '../../../src/core/store/json-store.js';
import { recoverCorruptStore } from '../../../src/core/store/recover-corrupt-store.js';
import { storeContract } from './contract.js';
import { alert, audit, delivery, ids, run } from './helpers/records.js';
import { useTempHomes } from './helpers/temp-home.js';

const newHome = useTempHomes();

storeContract('JsonStore', async (limits) => openJsonStore(await newHome(), { limits }));

async function failure(promise: Promise<unknown>): Promise<LifeboatError> {
  try {
    await promise;
  } catch (e) {
    if (isLifeboatError(e)) return e;
    throw e;
  }
  throw new Error('expected a LifeboatError, got success');
}

describe('JsonStore file', () => {
  it('opens and reads without creating anything: no folder reads as an empty history', async () => {
    const home = await newHome();
    const store = await openJsonStore(home);
    expect(await store.listRuns()).toEqual([]);
    expect(await store.listAudit()).toEqual([]);
    expect(await store.claimDeliveries({ owner: 'p1', sinks: ['slack'], now: new Date(), leaseMs: 1000, limit: 5 })).toEqual([]);
    await store.close();
    await expect(stat(dirname(home))).resolves.toBeDefined();
    await expect(stat(home)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await recoverCorruptStore(home)).toEqual({ status: 'missing', path: stateFilePath(home) });
    await expect(stat(home)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('the first write creates the state folder (0700) and a version-1 file (0600)', async () => {
    const home = await newHome();
    const store = await openJsonStore(home);
    expect(store.path).toBe(join(home, 'state.json'));
    await store.appendAudit(audit('e1'));
    await store.listAudit();
    expect((await stat(home)).mode & 0o777).toBe(0o700);
    expect((await stat(store.path)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(store.path, 'utf8'))).toEqual({
      format: 'lifeboat-state',
      version: 1,
      runs: [],
      drills: [],
      alerts: [],
      audit: [audit('e1')],
      deliveries: [],
    });
    await store.close();
  });

  it('reads a state file written before the outbox existed (no deliveries) and adds them on the next write', async () => {
    const home = await newHome();
    await mkdir(home, { recursive: true });
    const path = stateFilePath(home);
    await writeFile(path, JSON.stringify({ format: 'lifeboat-state', version: 1, runs: [run('r1')], drills: [], alerts: [alert('stale:app-data')], audit: [] }));
    const store = await openJsonStore(home);
    expect(await store.listDeliveries()).toEqual([]);
    expect(ids(await store.listRuns())).toEqual(['r1']);
    await store.putAlert(alert('stale:app-data', { count: 2 }), [delivery('d1', 'stale:app-data', 'slack')]);
    const file = JSON.parse(await readFile(path, 'utf8'));
    expect(file.deliveries).toMatchObject([{ id: 'd1', seq: 1 }]);
    expect(file.alerts).toMatchObject([{ key: 'stale:app-data', count: 2 }]);
    await store.close();
  });

  it('does not rewrite the file when nothing is due to claim, or a result is not the claimer\'s to record', async () => {
    const home = await newHome();
    const store = await openJsonStore(home);
    await store.putAlert(alert('k'), [delivery('d1', 'k', 'slack', { nextAttemptAt: new Date(Date.UTC(2026, 0, 2)).toISOString() })]);
    const before = await stat(store.path);
    const claimed = await store.claimDeliveries({ owner: 'p1', sinks: ['slack'], now: new Date(Date.UTC(2026, 0, 1)), leaseMs: 60_000, limit: 5 });
    expect(claimed).toEqual([]);
    expect(await store.finishDelivery('d1', 'p1', { ok: true, at: new Date() })).toBe(false);
    expect((await stat(store.path)).ino).toBe(before.ino);
    await store.close();
  });

  it('writes plain JSON holding exactly what was put', async () => {
    const home = await newHome();
    const store = await openJsonStore(home);
    const r = run('r1', { stats: { files: 2 } });
    await store.putRun(r);
    await store.appendAudit(audit('e1'));
    const file = JSON.parse(await readFile(store.path, 'utf8'));
    expect(file.runs).toEqual([r]);
    expect(file.audit).toEqual([audit('e1')]);
    await store.close();
  });

  it('keeps what was written across reopen, and honours fileName', async () => {
    const home = await newHome();
    const first = await openJsonStore(home, { fileName: 'other.json' });
    await first.putRun(run('r1'));
    await first.close();
    const second = await openJsonStore(home, { fileName: 'other.json' });
    expect(ids(await second.listRuns())).toEqual(['r1']);
    expect(await readdir(home)).toEqual(['other.json']);
    await second.close();
  });

  it('two stores on one file see and keep each other’s writes', async () => {
    const home = await newHome();
    const [a, b] = await Promise.all([openJsonStore(home), openJsonStore(home)]);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).appendAudit(audit(`e${i}`))),
    );
    expect(await a.listAudit()).toHaveLength(20);
    expect(await b.listAudit()).toHaveLength(20);
    await Promise.all([a.close(), b.close()]);
  });

  it('starts over when the file is deleted under an open store, rather than resurrect old records', async () => {
    const home = await newHome();
    const store = await openJsonStore(home);
    await store.putRun(run('old'));
    await unlink(store.path);
    expect(await store.listRuns()).toEqual([]);
    await store.putRun(run('new'));
    expect(ids(await store.listRuns())).toEqual(['new']);
    await store.close();
  });

  it('sweeps temp files left by a writer that died mid-write, at its first write', async () => {
    const home = await newHome();
    const first = await openJsonStore(home);
    await first.putRun(run('r1'));
    await first.close();
    await writeFile(join(home, 'state.json.tmp-99999'), '{"half":');
    const store = await openJsonStore(home);
    expect(await readdir(home)).toEqual(['state.json', 'state.json.tmp-99999']);
    await store.putRun(run('r2'));
    expect(await readdir(home)).toEqual(['state.json']);
    await store.close();
  });
});

describe('JsonStore damaged file', () => {
  const damaged: [string, string][] = [
    ['not JSON', '{"format": "lifeboat-state", "version": 1, "runs": [\n'],
    ['empty', ''],
    ['another format', '{"format": "something-else", "version": 1}'],
    ['a JSON array', '[]'],
    ['no version', '{"format": "lifeboat-state", "runs": [], "drills": [], "alerts": [], "audit": []}'],
    ['version 0', '{"format": "lifeboat-state", "version": 0, "runs": [], "drills": [], "alerts": [], "audit": []}'],
    ['a list missing', '{"format": "lifeboat-state", "version": 1, "runs": [], "drills": [], "alerts": []}'],
    ['a record without id', '{"format": "lifeboat-state", "version": 1, "runs": [{"runbook": "a", "startedAt": "x"}], "drills": [], "alerts": [], "audit": []}'],
  ];

  it.each(damaged)('%s: open fails with STORE_CORRUPT naming the file and the recovery, bytes untouched', async (_, text) => {
    const home = await newHome();
    await mkdir(home, { recursive: true });
    const path = stateFilePath(home);
    await writeFile(path, text);
    const e = await failure(openJsonStore(home));
    expect(e.code).toBe('STORE_CORRUPT');
    expect(e.message).toContain(path);
    expect(e.message).toMatch(/move it aside/);
    // What to do, as a command an operator can paste; no internal function names.
    expect(e.message).toContain(`mv '${path}' '${path}.corrupt-$(date +%s)'`);
    expect(e.message).not.toMatch(/recoverCorruptStore|\(\)/);
    expect(e.details).toMatchObject({ path, recovery: 'move-aside' });
    expect(await readFile(path, 'utf8')).toBe(text);
    expect(await readdir(home)).toEqual(['state.json']);
  });

  it('says which part is wrong', async () => {
    const home = await newHome();
    await mkdir(home, { recursive: true });
    await writeFile(stateFilePath(home), damaged[7]![1]);
    expect((await failure(openJsonStore(home))).message).toContain('runs[0].id is not a string');
  });

  it('a file damaged while open fails reads and writes, and the write does not replace it', async () => {
    const home = await newHome();
    const store = await openJsonStore(home);
    await store.putRun(run('r1'));
    await writeFile(store.path, 'garbage');
    expect((await failure(store.listRuns())).code).toBe('STORE_CORRUPT');
    expect((await failure(store.putRun(run('r2')))).code).toBe('STORE_CORRUPT');
    expect(await readFile(store.path, 'utf8')).toBe('garbage');
    await store.close();
  });

  it('refuses a file from a newer Lifeboat, and recovery leaves it in place', async () => {
    const home = await newHome();
    await mkdir(home, { recursive: true });
    const path = stateFilePath(home);
    const text = '{"format": "lifeboat-state", "version": 2, "runs": [], "things": {}}';
    await writeFile(path, text);
    const e = await failure(openJsonStore(home));
    expect(e.code).toBe('STORE_CORRUPT');
    expect(e.details['reason']).toBe('newer-version');
    expect(e.message).toContain(path);
    expect(e.message).toMatch(/newer Lifeboat \(format version 2; this one reads version 1\)/);
    expect(e.message).toMatch(/upgrade Lifeboat/);
    expect(await recoverCorruptStore(home)).toMatchObject({ status: 'newer-version', path });
    expect(await readFile(path, 'utf8')).toBe(text);
  });
});

describe('recoverCorruptStore', () => {
  it('moves a damaged file aside, byte for byte, and the next open starts empty', async () => {
    const home = await newHome();
    await mkdir(home, { recursive: true });
    const path = stateFilePath(home);
    await writeFile(path, 'not json');
    const clock = new FakeClock('2026-03-04T05:06:07.008Z');
    const result = await recoverCorruptStore(home, { clock });
    const movedTo = `${path}.corrupt-2026-03-04T05-06-07-008Z`;
    expect(result).toMatchObject({ status: 'moved', path, movedTo });
    expect(await readFile(movedTo, 'utf8')).toBe('not json');
    const store = await openJsonStore(home);
    expect(await store.listRuns()).toEqual([]);
    await store.close();

    // A second damaged file in the same millisecond does not overwrite the first.
    await writeFile(path, 'also not json');
    expect(await recoverCorruptStore(home, { clock })).toMatchObject({ status: 'moved', movedTo: `${movedTo}-1` });
    expect(await readFile(movedTo, 'utf8')).toBe('not json');
  });

  it('leaves a healthy file alone and reports a missing one', async () => {
    const home = await newHome();
    await mkdir(home, { recursive: true });
    expect(await recoverCorruptStore(home)).toMatchObject({ status: 'missing' });
    const store = await openJsonStore(home);
    await store.putRun(run('r1'));
    await store.close();
    expect(await recoverCorruptStore(home)).toMatchObject({ status: 'healthy' });
    expect(await readdir(home)).toEqual(['state.json']);
  });
});

describe('JsonStore lock', () => {
  it('reports STORE_LOCKED with the file when another holder keeps the lock, and works once it is released', async () => {
    const home = await newHome();
    // A state folder that already exists: the lock lives beside the file.
    await mkdir(home, { recursive: true });
    const store = await openJsonStore(home, { lock: { timeoutMs: 200 } });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let holding!: () => void;
    const acquired = new Promise<void>((r) => (holding = r));
    const holder = withFileLock(store.path, { timeoutMs: 1_000, staleMs: 5_000 }, async () => {
      holding();
      await held;
    });
    await acquired;
    const e = await failure(store.putRun(run('r1')));
    expect(e.code).toBe('STORE_LOCKED');
    expect(e.retryable).toBe(true);
    expect(e.message).toContain(store.path);
    expect(e.message).toContain('another Lifeboat process');
    // Reads do not need the lock.
    expect(await store.listRuns()).toEqual([]);
    release();
    await holder;
    await store.putRun(run('r1'));
    expect(ids(await store.listRuns())).toEqual(['r1']);
    await store.close();
  });

  it('takes over a stale lock left by a process that died holding it', async () => {
    const home = await newHome();
    await mkdir(home, { recursive: true });
    const store = await openJsonStore(home, { lock: { timeoutMs: 2_000, staleMs: 2_000 } });
    const lockDir = `${store.path}.lock`;
    await mkdir(lockDir);
    const longAgo = new Date(Date.now() - 60_000);
    await utimes(lockDir, longAgo, longAgo);
    // Waiting the lock out instead would end in STORE_LOCKED after timeoutMs: the write succeeding is the takeover.
    await store.putRun(run('r1'));
    expect(ids(await store.listRuns())).toEqual(['r1']);
    await store.close();
    expect(await readdir(home)).toEqual(['state.json']);
  });
});

describe('JsonStore when the file cannot be read or written', () => {
  it('state.json is a folder: open fails with STORE_IO naming the path and what to do', async () => {
    const home = await newHome();
    const path = stateFilePath(home);
    await mkdir(path, { recursive: true });
    const e = await failure(openJsonStore(home));
    expect(e.code).toBe('STORE_IO');
    expect(e.message).toBe(
      `Could not read the state file ${path}: ${path} is a folder, not a file. Lifeboat keeps its history in that one file: ` +
        `move the folder away (mv '${path}' '${path}.folder'), or point the state folder elsewhere (LIFEBOAT_HOME, or home in lifeboat.yaml).`,
    );
    expect(e.details).toMatchObject({ path, errno: 'EISDIR', access: 'read' });
  });

  it('a full disk (a real ENOSPC from /dev/full): the write names the file, the run it did not record and its failure, and the file keeps what it held', async () => {
    const home = await newHome();
    const store = await openJsonStore(home);
    await store.putRun(run('r1'));
    const before = await readFile(store.path, 'utf8');
    // The store writes its next version to this temp file; pointed at /dev/full, that write fails with ENOSPC.
    await symlink('/dev/full', tempPathOf(store.path));
    const failed = run('r2', { status: 'failed', error: { code: 'SOURCE_FAILED', message: 'pg_dump exited with 1' } });
    const e = await failure(store.putRun(failed));
    expect(e.code).toBe('STORE_IO');
    expect(e.retryable).toBe(true);
    expect(e.message).toBe(
      `Could not write the state file ${store.path} to record the end of the backup run r2 of app-data (failed: pg_dump exited with 1): ` +
        `the filesystem that holds ${home} is full (ENOSPC). The state file keeps what it held before this write. ` +
        `Free space there, or point the state folder elsewhere (LIFEBOAT_HOME, or home in lifeboat.yaml).`,
    );
    expect(await readFile(store.path, 'utf8')).toBe(before);
    // The failed write took its temp file away (here the link); with space again, the next write goes through.
    await store.putRun(failed);
    expect(ids(await store.listRuns())).toEqual(['r2', 'r1']);
    expect(await readdir(home)).toEqual(['state.json']);
    await store.close();
  });
});
