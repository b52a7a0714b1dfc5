/**
 * ListCache's rules, with the order of events in the test's hands: the
 * listening connection is a scripted one (notices arrive when the test says),
 * and the lists come from loaders that count their reads and can be held
 * mid-read. The real PostgreSQL side (triggers, LISTEN, a killed listener) is
 * test/core/store/postgres-list-cache.test.ts.
 */
import { EventEmitter } from 'node:events';
import type { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import { CHANGE_CHANNEL, ListCache, type ListedRow } from '../../../src/core/store/postgres/list-cache.js';

interface Row {
  id: string;
  runbook: string;
  at: number;
}

/** A pool whose one connection LISTENs; `notify` delivers a notice as PostgreSQL would after a commit. */
function scriptedPool() {
  const client = Object.assign(new EventEmitter(), {
    query: async (_sql: string) => ({ rows: [] }),
    released: false,
    release(_destroy?: boolean) {
      this.released = true;
    },
  });
  const pool = { connect: async () => client } as unknown as Pool;
  return {
    pool,
    client,
    notify: (payload: string) => client.emit('notification', { channel: CHANGE_CHANNEL, payload }),
  };
}

/** The table the loaders read from; `reads` counts reads per runbook ('*' for the whole list). */
function table(rows: Row[]) {
  const reads: string[] = [];
  let hold: Promise<void> | undefined;
  const load = async (runbook?: string): Promise<ListedRow<Row>[]> => {
    reads.push(runbook ?? '*');
    // The answer is what the table held when the read began, as a statement's snapshot.
    // `written` is the row's place in the table (the order it was written in), as the bigserial column.
    const snapshot = rows.flatMap((r, i) => (runbook === undefined || r.runbook === runbook ? [{ record: { ...r }, runbook: r.runbook, at: r.at, written: String(i) }] : []));
    if (hold) await hold;
    return snapshot.sort((a, b) => b.at - a.at || Number(b.written) - Number(a.written));
  };
  return {
    rows,
    reads,
    load,
    holdReads() {
      let release!: () => void;
      hold = new Promise((r) => (release = r));
      return () => {
        hold = undefined;
        release();
      };
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

/** Asked twice: the cache listens from now on, and keeps nothing yet. */
async function listening(cache: ListCache, t: ReturnType<typeof table>): Promise<void> {
  await cache.list('k', 'runs', t.load);
  await cache.list('k', 'runs', t.load); // asked again: starts listening
  await tick();
}

async function live(cache: ListCache, t: ReturnType<typeof table>): Promise<void> {
  await listening(cache, t);
  expect(cache.live).toBe(true);
  await cache.list('k', 'runs', t.load); // read whole, kept
}

describe('ListCache', () => {
  it('keeps nothing until asked twice, then answers from memory', async () => {
    const { pool } = scriptedPool();
    const t = table([{ id: 'a1', runbook: 'a', at: 1 }]);
    const cache = new ListCache(pool);
    await cache.list('k', 'runs', t.load);
    expect(cache.live).toBe(false);
    await live(cache, t);
    const before = t.reads.length;
    expect(await cache.list('k', 'runs', t.load)).toEqual([{ id: 'a1', runbook: 'a', at: 1 }]);
    expect(t.reads.length).toBe(before);
  });

  it('a notice makes only its runbook read again', async () => {
    const s = scriptedPool();
    const t = table([
      { id: 'a1', runbook: 'a', at: 1 },
      { id: 'b1', runbook: 'b', at: 2 },
    ]);
    const cache = new ListCache(s.pool);
    await live(cache, t);
    t.rows.push({ id: 'b2', runbook: 'b', at: 3 });
    t.reads.length = 0;
    s.notify('runs b');
    expect((await cache.list<Row>('k', 'runs', t.load)).map((r) => r.id)).toEqual(['b2', 'b1', 'a1']);
    expect(t.reads).toEqual(['b']);
    s.notify('drills a'); // another table's notice leaves a runs list alone
    await cache.list('k', 'runs', t.load);
    expect(t.reads).toEqual(['b']);
  });

  it("a write of this process counts at once, before any notice", async () => {
    const s = scriptedPool();
    const t = table([{ id: 'a1', runbook: 'a', at: 1 }]);
    const cache = new ListCache(s.pool);
    await live(cache, t);
    t.rows.push({ id: 'a2', runbook: 'a', at: 2 });
    cache.changed('runs', 'a');
    expect((await cache.list<Row>('k', 'runs', t.load)).map((r) => r.id)).toEqual(['a2', 'a1']);
  });

  it('a read that a change overtook is not kept', async () => {
    const s = scriptedPool();
    const t = table([{ id: 'a1', runbook: 'a', at: 1 }]);
    const cache = new ListCache(s.pool);
    await live(cache, t);
    s.notify('runs a');
    // The re-read of runbook a begins (its snapshot: only a1), then a2 commits and its notice comes.
    const release = t.holdReads();
    const answer = cache.list<Row>('k', 'runs', t.load);
    await tick();
    t.rows.push({ id: 'a2', runbook: 'a', at: 2 });
    s.notify('runs a');
    release();
    // This answer may predate a2 (it began first) but must not be kept as current:
    await answer;
    expect((await cache.list<Row>('k', 'runs', t.load)).map((r) => r.id)).toEqual(['a2', 'a1']);
  });

  it('a whole read that a change overtook is not kept either', async () => {
    const s = scriptedPool();
    const t = table([{ id: 'a1', runbook: 'a', at: 1 }]);
    const cache = new ListCache(s.pool);
    await listening(cache, t);
    const release = t.holdReads();
    const first = cache.list<Row>('k', 'runs', t.load); // the first read once listening: the whole list
    await tick();
    t.rows.push({ id: 'a2', runbook: 'a', at: 2 });
    s.notify('runs a');
    release();
    expect((await first).map((r) => r.id)).toEqual(['a1']);
    expect((await cache.list<Row>('k', 'runs', t.load)).map((r) => r.id)).toEqual(['a2', 'a1']);
  });

  it('a whole read overtaken by a change is kept, with only that runbook read again next time', async () => {
    const s = scriptedPool();
    const t = table([
      { id: 'a1', runbook: 'a', at: 1 },
      { id: 'b1', runbook: 'b', at: 1 },
    ]);
    const cache = new ListCache(s.pool);
    await listening(cache, t);
    const release = t.holdReads();
    const first = cache.list<Row>('k', 'runs', t.load);
    await tick();
    t.rows.push({ id: 'a2', runbook: 'a', at: 2 });
    s.notify('runs a');
    s.notify('drills b'); // another table's change does not touch this list
    release();
    expect((await first).map((r) => r.id)).toEqual(['b1', 'a1']);
    t.reads.length = 0;
    expect((await cache.list<Row>('k', 'runs', t.load)).map((r) => r.id)).toEqual(['a2', 'b1', 'a1']);
    // Kept: the second ask read runbook a alone (before: the whole list again, and again under every write).
    expect(t.reads).toEqual(['a']);
    t.reads.length = 0;
    await cache.list('k', 'runs', t.load);
    expect(t.reads).toEqual([]);
  });

  it('a whole read overtaken by an emptied table or a lost listener is not kept', async () => {
    const s = scriptedPool();
    const t = table([{ id: 'a1', runbook: 'a', at: 1 }]);
    const cache = new ListCache(s.pool);
    await listening(cache, t);
    const release = t.holdReads();
    const first = cache.list<Row>('k', 'runs', t.load);
    await tick();
    s.notify('runs *');
    release();
    await first;
    t.reads.length = 0;
    await cache.list('k', 'runs', t.load);
    expect(t.reads).toEqual(['*']);
  });

  it('places a changed runbook\'s rows where a full sort would, ties to the later write', async () => {
    const s = scriptedPool();
    const t = table([
      { id: 'a1', runbook: 'a', at: 1 },
      { id: 'b1', runbook: 'b', at: 1 },
      { id: 'c3', runbook: 'c', at: 3 },
      { id: 'a5', runbook: 'a', at: 5 },
    ]);
    const cache = new ListCache(s.pool);
    await live(cache, t);
    for (const row of [
      { id: 'b3', runbook: 'b', at: 3 },
      { id: 'b9', runbook: 'b', at: 9 },
      { id: 'b0', runbook: 'b', at: 0 },
    ]) {
      t.rows.push(row);
      s.notify('runs b');
      const kept = (await cache.list<Row>('k', 'runs', t.load)).map((r) => r.id);
      expect(kept).toEqual((await t.load()).map((r) => r.record.id));
    }
    expect((await cache.list<Row>('k', 'runs', t.load)).map((r) => r.id)).toEqual(['b9', 'a5', 'b3', 'c3', 'b1', 'a1', 'b0']);
  });

  it("a table emptied ('*') and a lost listener drop what was kept", async () => {
    const s = scriptedPool();
    const t = table([{ id: 'a1', runbook: 'a', at: 1 }]);
    const cache = new ListCache(s.pool);
    await live(cache, t);
    t.rows.length = 0;
    s.notify('runs *');
    expect(await cache.list('k', 'runs', t.load)).toEqual([]);
    t.rows.push({ id: 'c1', runbook: 'c', at: 5 });
    s.client.emit('end');
    expect(cache.live).toBe(false);
    expect(s.client.released).toBe(true);
    expect((await cache.list<Row>('k', 'runs', t.load)).map((r) => r.id)).toEqual(['c1']);
  });
  it('keeps one list of a family: a list naming other runbooks replaces it, and asking for the first again reads it whole', async () => {
    const { pool } = scriptedPool();
    const t = table([
      { id: 'a1', runbook: 'a', at: 1 },
      { id: 'b1', runbook: 'b', at: 2 },
    ]);
    const cache = new ListCache(pool);
    await live(cache, t);
    // The same query naming other runbooks (a console whose catalog changed): its own key, the same family.
    await cache.list('k+b', 'runs', t.load, 'k');
    t.reads.length = 0;
    await cache.list('k+b', 'runs', t.load, 'k');
    expect(t.reads).toEqual([]);
    await cache.list('k', 'runs', t.load);
    expect(t.reads).toEqual(['*']);
  });
});
