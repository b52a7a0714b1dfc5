/**
 * A remote run's live events as the agent publishes them (live-events.ts):
 * progress ticks throttled per stage, the latest kept and sent before the
 * stage's finish; every other event at once and in order; each notification
 * under PostgreSQL's 8000-byte limit. The channel is a recorder here: the
 * real LISTEN/NOTIFY path is test/fleet/agent-dispatch.test.ts's.
 */
import { describe, expect, it } from 'vitest';
import { jobEventsChannel, livePayload, publishLive, type EngineEvent, type PgChannels } from '../../src/core/index.js';

function recordingChannels() {
  const sent: { channel: string; message: unknown; bytes: number }[] = [];
  const channels = {
    notify: async (channel: string, payload: string) => void sent.push({ channel, message: JSON.parse(payload), bytes: Buffer.byteLength(payload) }),
  } as unknown as PgChannels;
  return { channels, sent };
}

const progress = (stage: 'snapshot' | 'transfer', files: number): EngineEvent => ({ type: 'stage.progress', runId: 'r1', stage, progress: { files, bytes: files * 10 } });

describe('publishLive', () => {
  it('sends at most one progress tick per stage per 100 ms, the latest before the stage finishes, everything else at once and in order', async () => {
    const { channels, sent } = recordingChannels();
    let now = 1_000;
    const live = publishLive(channels, 'job-1', () => now);
    live.sink({ type: 'stage.started', runId: 'r1', stage: 'snapshot', at: 't' });
    for (let i = 1; i <= 50; i++) live.sink(progress('snapshot', i)); // one burst, same instant
    now += 150;
    live.sink(progress('snapshot', 51)); // a new window: sent at once
    live.sink(progress('snapshot', 52)); // held
    live.sink({ type: 'hook.output', runId: 'r1', hook: 'before[0]', line: 'hello' });
    live.sink({ type: 'stage.finished', runId: 'r1', stage: 'snapshot', status: 'succeeded', counters: {}, at: 't' });
    await live.finish();

    expect(new Set(sent.map((s) => s.channel))).toEqual(new Set([jobEventsChannel('job-1')]));
    const shown = sent.map(({ message }) => {
      const m = message as { e?: EngineEvent; done?: true };
      if (m.done) return 'done';
      const e = m.e!;
      return e.type === 'stage.progress' ? `progress ${e.progress.files}` : e.type;
    });
    // 50 ticks in one instant: the first goes, the rest are held (the latest wins: 51 replaces 50 once the
    // window passed); the tick held last goes ahead of the next other event.
    expect(shown).toEqual(['stage.started', 'progress 1', 'progress 51', 'progress 52', 'hook.output', 'stage.finished', 'done']);
  });
});

describe('livePayload', () => {
  it('keeps every notification under 8000 bytes: a long line is cut, an event too large to cut becomes a log line', () => {
    const long = livePayload({ e: { type: 'hook.output', runId: 'r1', hook: 'before[0]', line: 'x'.repeat(20_000) } });
    expect(Buffer.byteLength(long)).toBeLessThan(8_000);
    expect((JSON.parse(long) as { e: { line: string } }).e.line).toMatch(/^x{2000}… \(cut\)$/);

    const huge = { type: 'drill.measured', drill: { notes: 'y'.repeat(20_000) } } as unknown as EngineEvent;
    const told = JSON.parse(livePayload({ e: huge })) as { e: EngineEvent };
    expect(told.e).toEqual({ type: 'log', level: 'info', message: '(a drill.measured event was too large to relay live; it is in the store)' });

    const small = { e: { type: 'log', level: 'warn', message: 'fine' } } as const;
    expect(livePayload(small)).toBe(JSON.stringify(small));
  });
});
