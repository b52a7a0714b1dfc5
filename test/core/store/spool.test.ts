/**
 * The spool that keeps a backup's records through a state store outage
 * (src/core/store/spool/): what counts as an outage, order, idempotent replay,
 * a crash mid-replay, entries the store refuses, and two processes replaying
 * one home at once. PostgreSQL's side of it (a real server stopped and started)
 * is test/integration/store-outage.test.ts.
 */
import { cp, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LifeboatError } from '../../../src/core/errors.js';
import { MemoryStore } from '../../../src/core/store/memory-store.js';
import { openJsonStore } from '../../../src/core/store/json-store.js';
import { isStoreUnreachable, Spool, SpoolingStore, spoolDirOf } from '../../../src/core/store/spool/index.js';
import { flaky, refused } from './helpers/flaky-store.js';
import { alert, audit, run } from './helpers/records.js';
import { spawnScript } from './helpers/spawn-worker.js';
import { useTempHomes } from './helpers/temp-home.js';

const newHome = useTempHomes({ memory: true });

/** A SpoolingStore over a flaky in-memory store, with a clock the test moves for the retry pacing. */
async function setUp(options: { opened?: boolean } = {}) {
  const home = await newHome();
  const inner = flaky(new MemoryStore());
  const clock = { ms: 0 };
  const warnings: string[] = [];
  let opens = 0;
  const store = new SpoolingStore({
    open: async () => {
      opens++;
      if (inner.down) throw refused();
      return inner;
    },
    ...(options.opened === false ? {} : { opened: inner }),
    where: 'db.example:5432/lifeboat',
    spoolDir: spoolDirOf(home),
    retry: { firstMs: 1_000, maxMs: 4_000 },
    monotonicMs: () => clock.ms,
    onWarning: (m) => warnings.push(m),
  });
  return { home, inner, clock, warnings, store, spool: new Spool(spoolDirOf(home)), opens: () => opens };
}

describe('isStoreUnreachable', () => {
  const pg = (code: string, message = 'x') => Object.assign(new Error(message), { code });
  it.each([
    ['a refused connection', refused()],
    ['a reset', pg('ECONNRESET', 'read ECONNRESET')],
    ['a connect timeout (pg sets no code)', new Error('timeout expired')],
    ['a connection lost mid-query', new Error('Connection terminated unexpectedly')],
    ['admin shutdown (pg_ctl stop -m fast)', pg('57P01', 'terminating connection due to administrator command')],
    ['the server starting up', pg('57P03', 'the database system is starting up')],
    ['a connection exception (class 08)', pg('08006')],
    ['every address of a host refused', new AggregateError([refused(), refused()])],
    ['open-store naming the store around a refusal', new LifeboatError('BACKEND_UNAVAILABLE', 'The state store at h:5432/db cannot be used: …', { cause: refused() })],
  ])('%s is an outage', (_what, e) => expect(isStoreUnreachable(e)).toBe(true));

  it.each([
    ['a refused password', new LifeboatError('BACKEND_UNAVAILABLE', 'The state store at h:5432/db cannot be used: …', { cause: pg('28P01', 'password authentication failed') })],
    ['a unique violation', pg('23505')],
    ['an outdated schema', new LifeboatError('USAGE', 'the store at h has schema 1', { details: { reason: 'older-schema' } })],
    ['a missing file (not a socket)', pg('ENOENT', "ENOENT: no such file or directory, open '/x'")],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
  ])('%s is a real error', (_what, e) => expect(isStoreUnreachable(e)).toBe(false));
});

describe('SpoolingStore', () => {
  it('spools the writes made while the store is down and replays them in order, once, at the first call after it returns', async () => {
    const { inner, clock, warnings, store, spool } = await setUp();
    await store.putRun(run('r1', { status: 'running' }));
    inner.down = true;
    await store.putRun(run('r1', { status: 'running', stages: [{ name: 'discover', status: 'succeeded', counters: {} }] }));
    await store.putRun(run('r1', { status: 'succeeded' }));
    await store.appendAudit(audit('a1'));
    expect(inner.log).toEqual(['putRun r1 running']);
    expect(await spool.names()).toHaveLength(3);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^state store unreachable: db\.example:5432\/lifeboat \(connect ECONNREFUSED 127\.0\.0\.1:5432\); records are spooled to .*\/spool/);

    // A read while down: one sentence naming the store and the spool, never a URL.
    const read = await store.listRuns().catch((e: unknown) => e);
    expect(read).toBeInstanceOf(LifeboatError);
    expect((read as Error).message).toMatch(/^state store unreachable: db\.example:5432\/lifeboat \(.*\); backup and drill records are being spooled to .*spool and written to the store when it returns$/);
    expect(isStoreUnreachable(read)).toBe(true);

    inner.down = false;
    clock.ms += 60_000;
    const runs = await store.listRuns();
    expect(inner.log).toEqual(['putRun r1 running', 'putRun r1 running', 'putRun r1 succeeded', 'appendAudit a1']);
    expect(runs.map((r) => `${r.id} ${r.status}`)).toEqual(['r1 succeeded']);
    expect(await store.listAudit()).toHaveLength(1);
    expect(await spool.names()).toEqual([]);
    expect(warnings.at(-1)).toMatch(/reachable again: 3 spooled record\(s\) written/);
  });

  it('once anything is spooled, later writes go behind it until it is replayed, even when the store answers again', async () => {
    const { inner, clock, store, spool } = await setUp();
    inner.down = true;
    await store.putRun(run('r1', { status: 'running' }));
    inner.down = false;
    // The retry is not due yet: the store is not even asked, the write queues behind the first.
    await store.putRun(run('r1', { status: 'succeeded' }));
    expect(inner.log).toEqual([]);
    expect(await spool.names()).toHaveLength(2);
    clock.ms += 1_000;
    await store.appendAudit(audit('a1'));
    // Replayed first, then the new write made directly.
    expect(inner.log).toEqual(['putRun r1 running', 'putRun r1 succeeded', 'appendAudit a1']);
    expect(await spool.names()).toEqual([]);
  });

  it('a write to the spool another process left goes behind it: the spool of a home is one queue', async () => {
    const { inner, store, home } = await setUp();
    // Another process of this home spooled a write while the store was down.
    await new Spool(spoolDirOf(home)).append({ op: 'putRun', record: run('other', { status: 'running' }) }, 'x');
    await store.putRun(run('mine'));
    expect(inner.log).toEqual(['putRun other running', 'putRun mine succeeded']);
  });

  it('paces reconnecting while the store is down: calls in between fail (or spool) at once, without asking it', async () => {
    const { inner, clock, store, opens } = await setUp({ opened: false });
    inner.down = true;
    await expect(store.listRuns()).rejects.toThrow(/state store unreachable/);
    expect(opens()).toBe(1);
    await expect(store.listRuns()).rejects.toThrow(/state store unreachable/);
    await store.putRun(run('r1'));
    expect(opens()).toBe(1);
    clock.ms += 1_000;
    await expect(store.listRuns()).rejects.toThrow(/state store unreachable/);
    expect(opens()).toBe(2);
    // The delay doubles: 2 s now.
    clock.ms += 1_000;
    await expect(store.listRuns()).rejects.toThrow(/state store unreachable/);
    expect(opens()).toBe(2);
    clock.ms += 1_000;
    inner.down = false;
    expect(await store.listRuns()).toHaveLength(1);
    expect(opens()).toBe(3);
  });

  it('a real error still throws and spools nothing; putAlert is never spooled', async () => {
    const { inner, store, spool } = await setUp();
    inner.beforeWrite = () => {
      throw Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' });
    };
    await expect(store.putRun(run('r1'))).rejects.toThrow(/duplicate key/);
    expect(await spool.names()).toEqual([]);
    inner.beforeWrite = undefined;
    inner.down = true;
    await expect(store.putAlert(alert('k1'))).rejects.toThrow(/state store unreachable/);
    expect(await spool.names()).toEqual([]);
  });

  it('a crash mid-replay replays the interrupted entry again, and nothing is doubled or reordered', async () => {
    const { inner, clock, store, spool } = await setUp();
    inner.down = true;
    await store.putRun(run('r1', { status: 'running' }));
    await store.appendAudit(audit('a1'));
    await store.putRun(run('r1', { status: 'succeeded' }));
    inner.down = false;
    clock.ms += 1_000;
    // The audit entry commits, then the connection dies before its answer (the entry stays spooled).
    inner.afterWrite = (what) => {
      if (what === 'appendAudit a1') {
        inner.afterWrite = undefined;
        throw Object.assign(new Error('Connection terminated unexpectedly'), {});
      }
    };
    await expect(store.listRuns()).rejects.toThrow(/state store unreachable/);
    expect(await spool.names()).toHaveLength(2);
    clock.ms += 2_000;
    expect((await store.listRuns()).map((r) => r.status)).toEqual(['succeeded']);
    expect(inner.log).toEqual(['putRun r1 running', 'appendAudit a1', 'appendAudit a1', 'putRun r1 succeeded']);
    expect(await store.listAudit()).toHaveLength(1);
  });

  it('a process killed after a write committed but before its entry was removed: the next replay applies it again, harmlessly', async () => {
    const { home, inner, clock, store, spool } = await setUp();
    inner.down = true;
    await store.putRun(run('r1', { status: 'running' }));
    await store.putRun(run('r1', { status: 'succeeded' }));
    await store.appendAudit(audit('a1'));
    const saved = join(home, 'saved');
    await cp(spoolDirOf(home), saved, { recursive: true });
    inner.down = false;
    clock.ms += 1_000;
    await store.replay();
    // As if the removals never reached the disk.
    await rm(spoolDirOf(home), { recursive: true });
    await cp(saved, spoolDirOf(home), { recursive: true });
    const result = await store.replay();
    expect(result).toMatchObject({ replayed: 3, rejected: 0, busy: false });
    expect((await store.listRuns()).map((r) => `${r.id} ${r.status}`)).toEqual(['r1 succeeded']);
    expect(await store.listAudit()).toHaveLength(1);
    expect(await spool.names()).toEqual([]);
  });

  it('an entry the store refuses is moved to rejected/ with the reason, and the rest are replayed', async () => {
    const { home, inner, clock, store, warnings } = await setUp();
    inner.down = true;
    await store.putRun(run('r1'));
    await store.putRun(run('bad'));
    await store.putRun(run('r2'));
    inner.down = false;
    clock.ms += 1_000;
    inner.beforeWrite = (what) => {
      if (what.startsWith('putRun bad')) throw Object.assign(new Error('value too long for type character varying(10)'), { code: '22001' });
    };
    await store.replay();
    expect(inner.log).toEqual(['putRun r1 succeeded', 'putRun r2 succeeded']);
    const rejected = await readdir(join(spoolDirOf(home), 'rejected'));
    expect(rejected.filter((n) => n.endsWith('.json'))).toHaveLength(1);
    const why = await readFile(join(spoolDirOf(home), 'rejected', rejected.find((n) => n.endsWith('.why.txt'))!), 'utf8');
    expect(why).toMatch(/refused by the store: value too long/);
    expect(warnings.some((w) => /not written to the state store .*kept there for inspection/.test(w))).toBe(true);
  });

  it('writes made during a replay are replayed in the same pass', async () => {
    const { inner, clock, store, spool } = await setUp();
    inner.down = true;
    await store.putRun(run('r1'));
    inner.down = false;
    clock.ms += 1_000;
    inner.afterWrite = (what) => {
      if (what.startsWith('putRun r1')) void spool.append({ op: 'appendAudit', record: audit('late') }, 'x');
    };
    // The append above is not awaited by the store: wait for it through a second replay if it landed late.
    await store.replay();
    inner.afterWrite = undefined;
    await store.replay();
    expect(inner.log).toEqual(['putRun r1 succeeded', 'appendAudit late']);
    expect(await spool.names()).toEqual([]);
  });

  it("a replay sweeps the temp files of appends whose process died (never listed as entries), not a live process's", async () => {
    const { home, inner, clock, store, spool } = await setUp();
    inner.down = true;
    await store.putRun(run('r1'));
    const { writeFile } = await import('node:fs/promises');
    const dead = join(spoolDirOf(home), '000000000000001-00000001-1.json.tmp-999999999');
    const live = join(spoolDirOf(home), `000000000000002-00000002-1.json.tmp-${process.pid}`);
    await writeFile(dead, '{"v":1,"op":"putRun","rec');
    await writeFile(live, '{"v":1,"op":"putRun","rec');
    expect(await spool.names()).toHaveLength(1);
    inner.down = false;
    clock.ms += 1_000;
    await store.replay();
    const left = await readdir(spoolDirOf(home));
    expect(left).toContain(live.split('/').at(-1));
    expect(left).not.toContain(dead.split('/').at(-1));
    expect(inner.log).toEqual(['putRun r1 succeeded']);
  });

  it('spool files are private to the owner', async () => {
    const { home, inner, store, spool } = await setUp();
    inner.down = true;
    await store.putRun(run('r1'));
    const [name] = await spool.names();
    const { stat } = await import('node:fs/promises');
    expect((await stat(join(spoolDirOf(home), name!))).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(join(spoolDirOf(home), name!), 'utf8'))).toMatchObject({ v: 1, op: 'putRun', record: { id: 'r1' }, where: 'db.example:5432/lifeboat' });
  });
});

describe('two processes replaying one home', () => {
  it('never interleave: each spooled write reaches the store once, in spool order', async () => {
    const home = await newHome();
    const storeHome = join(home, '..', 'store');
    await mkdir(storeHome, { recursive: true });
    const spool = new Spool(spoolDirOf(home));
    const expected: string[] = [];
    for (let i = 0; i < 60; i++) {
      const status = i % 3 === 2 ? 'succeeded' : 'running';
      await spool.append({ op: 'putRun', record: run(`r${Math.floor(i / 3)}`, { status }) }, 'x');
      expected.push(`putRun r${Math.floor(i / 3)} ${status}`);
      await spool.append({ op: 'appendAudit', record: audit(`a${i}`) }, 'x');
      expected.push(`appendAudit a${i}`);
    }
    const worker = fileURLToPath(new URL('./helpers/spool-worker.ts', import.meta.url));
    const log = join(home, '..', 'applied.log');
    const workers = [spawnScript(worker, 'replay', home, storeHome, log), spawnScript(worker, 'replay', home, storeHome, log)];
    await Promise.all(workers.map((w) => w.waitFor((l) => l === 'ready')));
    for (const w of workers) w.child.stdin.write('go\n');
    const ends = await Promise.all(workers.map((w) => w.exited));
    for (const end of ends) expect(end, end.stderr).toMatchObject({ code: 0 });
    const results = workers.map((w) => JSON.parse(w.lines.find((l) => l.startsWith('{'))!) as { replayed: number; busy: boolean });
    // One took the lock and replayed everything; the other found it held, or found nothing left.
    expect(results.reduce((n, r) => n + r.replayed, 0)).toBe(120);
    const applied = (await readFile(log, 'utf8')).trim().split('\n');
    expect(applied).toEqual(expected);
    expect(await spool.names()).toEqual([]);
    const store = await openJsonStore(storeHome);
    expect((await store.listRuns()).every((r) => r.status === 'succeeded')).toBe(true);
    expect(await store.listRuns()).toHaveLength(20);
    expect(await store.listAudit()).toHaveLength(60);
    await store.close();
  });
  it('a replayer killed mid-replay: its lock is taken over once stale, and the rest is applied after what it applied, each once', async () => {
    const home = await newHome();
    const storeHome = join(home, '..', 'store');
    await mkdir(storeHome, { recursive: true });
    const spool = new Spool(spoolDirOf(home));
    const expected: string[] = [];
    for (let i = 0; i < 10; i++) {
      await spool.append({ op: 'putRun', record: run('r', { status: i === 9 ? 'succeeded' : 'running', stages: [{ name: 'snapshot', status: 'succeeded', counters: { files: i } }] }) }, 'x');
      expected.push(`putRun r ${i === 9 ? 'succeeded' : 'running'}`);
    }
    const worker = fileURLToPath(new URL('./helpers/spool-worker.ts', import.meta.url));
    const log = join(home, '..', 'applied.log');
    const first = spawnScript(worker, 'hold', home, storeHome, log, '5');
    await first.waitFor((l) => l === 'holding');
    first.child.kill('SIGKILL');
    await first.exited;
    expect(await spool.names()).toHaveLength(6);
    const second = spawnScript(worker, 'until-done', home, storeHome, log);
    const end = await second.exited;
    expect(end, end.stderr).toMatchObject({ code: 0 });
    expect(JSON.parse(second.lines.at(-1)!)).toMatchObject({ replayed: 6, busy: false });
    expect((await readFile(log, 'utf8')).trim().split('\n')).toEqual(expected);
    expect(await spool.names()).toEqual([]);
    const store = await openJsonStore(storeHome);
    expect((await store.listRuns()).map((r) => `${r.status} ${r.stages[0]!.counters.files}`)).toEqual(['succeeded 9']);
    await store.close();
  }, 60_000);
});
