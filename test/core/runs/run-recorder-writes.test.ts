/**
 * The run record's writes (src/core/runs/run-recorder.ts): written and
 * awaited at the start, the end, and every boundary a crash would be judged
 * by; other stage boundaries ride along with the next write (or go within
 * STAGE_WRITE_DELAY_MS). What each write handed the store is kept, so the
 * test reads exactly what a process killed after that write would have left.
 */
import { describe, expect, it } from 'vitest';
import { closeAbandonedRuns } from '../../../src/core/runs/abandoned-runs.js';
import { RunRecorder } from '../../../src/core/runs/run-recorder.js';
import { systemClock, type RunRecord } from '../../../src/core/index.js';
import { MemoryStore } from '../../../src/core/store/index.js';

/** A MemoryStore that keeps a copy of every record handed to putRun, and says when one arrives. */
class RecordingStore extends MemoryStore {
  readonly writes: RunRecord[] = [];
  #waiters: (() => void)[] = [];
  override async putRun(run: RunRecord): Promise<void> {
    this.writes.push(JSON.parse(JSON.stringify(run)) as RunRecord);
    await super.putRun(run);
    for (const w of this.#waiters.splice(0)) w();
  }
  nextWrite(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

function recorder(store: RecordingStore): RunRecorder {
  return new RunRecorder(store, systemClock, () => undefined, { runbook: 'rb', kind: 'backup', actor: { face: 'cli', user: 't' }, host: 'here' });
}

/** A backup's boundaries as backup-run.ts makes them, up to `upTo` steps. */
async function tinyBackup(r: RunRecorder, upTo = Infinity): Promise<void> {
  const steps: (() => Promise<unknown>)[] = [
    () => r.start(),
    () => r.startStage('discover'),
    () => r.startStage('snapshot'),
    () => r.finishStage('discover', 'succeeded', { files: 3 }),
    () => r.finishStage('snapshot', 'succeeded', { files: 3 }),
    async () => {
      r.record.snapshotId = 'a'.repeat(64);
      await r.startStage('transfer');
    },
    () => r.finishStage('transfer', 'succeeded', { packs: 1 }),
    () => r.startStage('verify'),
    () => r.finishStage('verify', 'succeeded', { packsRead: 1 }),
    () => r.finish('succeeded'),
  ];
  for (const step of steps.slice(0, upTo)) await step();
}

describe('run record writes', () => {
  it('a tiny backup is written four times: started, snapshot named, transferred, finished — and ends complete', async () => {
    const store = new RecordingStore();
    const r = recorder(store);
    await tinyBackup(r);
    expect(store.writes.map((w) => w.status)).toEqual(['running', 'running', 'running', 'succeeded']);
    expect(store.writes[0]!.stages).toEqual([]);
    // The snapshot's id goes with every stage boundary before it.
    expect(store.writes[1]!.snapshotId).toBe('a'.repeat(64));
    expect(store.writes[1]!.stages.map((s) => `${s.name}:${s.status}`)).toEqual(['discover:succeeded', 'snapshot:succeeded', 'transfer:running']);
    const stored = await store.getRun(r.id);
    expect(stored).toEqual(JSON.parse(JSON.stringify(r.record)));
    expect(stored!.stages.map((s) => `${s.name}:${s.status}`)).toEqual(['discover:succeeded', 'snapshot:succeeded', 'transfer:succeeded', 'verify:succeeded']);
  });

  it("a local repository's transfer (nothing to wait for) is one write: snapshot named and transferred together, and a run killed after it is partial, not transfer-pending", async () => {
    const store = new RecordingStore();
    const events: string[] = [];
    const r = new RunRecorder(store, systemClock, (e) => void events.push(e.type === 'stage.started' || e.type === 'stage.finished' ? `${e.type}:${e.stage}` : e.type), {
      runbook: 'rb',
      kind: 'backup',
      actor: { face: 'cli', user: 't' },
      host: 'here',
    });
    await tinyBackup(r, 5);
    r.record.snapshotId = 'a'.repeat(64);
    await r.instantStage('transfer', 'succeeded', { packs: 1, direct: 1 });
    expect(store.writes).toHaveLength(2);
    expect(store.writes[1]!.snapshotId).toBe('a'.repeat(64));
    expect(store.writes[1]!.stages.find((s) => s.name === 'transfer')).toMatchObject({ status: 'succeeded', durationMs: 0, counters: { packs: 1, direct: 1 } });
    expect(events.slice(-2)).toEqual(['stage.started:transfer', 'stage.finished:transfer']);
    // Killed now: what this write left, with a dead pid on this host, as the next run finds it.
    const left = new MemoryStore();
    await left.putRun({ ...store.writes[1]!, pid: 2 ** 22 + 17 });
    const [closed] = await closeAbandonedRuns(left, 'rb', { byRun: 'next', here: 'here' });
    expect(closed?.status).toBe('partial');
    await r.finish('succeeded');
    expect(store.writes.map((w) => w.status)).toEqual(['running', 'running', 'succeeded']);
  });

  it('a failed stage is written at once', async () => {
    const store = new RecordingStore();
    const r = recorder(store);
    await r.start();
    await r.startStage('hooks');
    expect(store.writes).toHaveLength(1);
    await r.finishStage('hooks', 'failed', {}, new Error('exit 1'));
    expect(store.writes).toHaveLength(2);
    expect(store.writes[1]!.stages[0]).toMatchObject({ name: 'hooks', status: 'failed', error: { message: 'exit 1' } });
  });

  it('a boundary with no write after it is written by itself soon after', async () => {
    const store = new RecordingStore();
    const r = recorder(store);
    await r.start();
    const written = store.nextWrite();
    await r.startStage('snapshot');
    await written;
    expect(store.writes.at(-1)!.stages.map((s) => `${s.name}:${s.status}`)).toEqual(['snapshot:running']);
    await r.finish('succeeded');
    expect((await store.getRun(r.id))!.status).toBe('succeeded');
  });

  it('killed at any boundary, the run is closed as a record written at every boundary would be', async () => {
    // Each prefix of the backup, then the process "dies": what it left is judged by closeAbandonedRuns.
    for (let upTo = 1; upTo <= 9; upTo++) {
      const left = new RecordingStore();
      const everyBoundary = new MemoryStore();
      const r = recorder(left);
      await tinyBackup(r, upTo);
      await everyBoundary.putRun(JSON.parse(JSON.stringify(r.record)) as RunRecord);
      const judge = async (store: MemoryStore) => {
        const run = (await store.getRun(r.id))!;
        // A dead pid on this host, as the next run finds it.
        await store.putRun({ ...run, pid: 2 ** 22 + 17 });
        const [closed] = await closeAbandonedRuns(store, 'rb', { byRun: 'next', here: 'here' });
        return { status: closed?.status, snapshotId: closed?.snapshotId };
      };
      expect(await judge(left), `killed after step ${upTo}`).toEqual(await judge(everyBoundary));
    }
  });
});
