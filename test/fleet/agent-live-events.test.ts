/**
 * A remote run's live events as the agent publishes them (live-events.ts):
 * progress ticks throttled per stage, the latest kept and sent before the
 * stage's finish; every other event in order; the events of a moment batched
 * in one notification, `done` with the last; each notification under
 * PostgreSQL's 8000-byte limit. The channel is a recorder here: the
 * real LISTEN/NOTIFY path is test/fleet/agent-dispatch.test.ts's.
 */
import { describe, expect, it } from 'vitest';
import { jobEventsChannel, publishLive, type EngineEvent, type PgChannels } from '../../src/core/index.js';
import { batchPayloads, BATCH_MS, followLive } from '../../src/core/fleet/live-events.js';

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
    const shown = sent.flatMap(({ message }) => {
      const m = message as { es?: EngineEvent[]; done?: true };
      return [...(m.es ?? []).map((e) => (e.type === 'stage.progress' ? `progress ${e.progress.files}` : e.type)), ...(m.done ? ['done'] : [])];
    });
    // 50 ticks in one instant: the first goes, the rest are held (the latest wins: 51 replaces 50 once the
    // window passed); the tick held last goes ahead of the next other event.
    expect(shown).toEqual(['stage.started', 'progress 1', 'progress 51', 'progress 52', 'hook.output', 'stage.finished', 'done']);
    // All of it within one batch window: one notification.
    expect(sent).toHaveLength(1);
  });

  it('events apart by more than the batch window go in notifications of their own, in order', async () => {
    const { channels, sent } = recordingChannels();
    const live = publishLive(channels, 'job-2');
    live.sink({ type: 'stage.started', runId: 'r1', stage: 'snapshot', at: 't' });
    // Sent by itself once its window closed, with nothing after it.
    await expect.poll(() => sent.length, { timeout: 10_000, interval: BATCH_MS }).toBe(1);
    live.sink({ type: 'stage.finished', runId: 'r1', stage: 'snapshot', status: 'succeeded', counters: {}, at: 't' });
    await live.finish();
    expect(sent.map((s) => s.message)).toEqual([
      { es: [{ type: 'stage.started', runId: 'r1', stage: 'snapshot', at: 't' }] },
      { es: [{ type: 'stage.finished', runId: 'r1', stage: 'snapshot', status: 'succeeded', counters: {}, at: 't' }], done: true },
    ]);
  });

  it('a batch larger than a notification is split in order, each under 8000 bytes; the dispatcher emits each event once, then done', async () => {
    const events: EngineEvent[] = Array.from({ length: 60 }, (_, i) => ({ type: 'hook.output', runId: 'r1', hook: 'before[0]', line: `${i} ${'z'.repeat(500)}` }));
    const payloads = batchPayloads(events, true);
    expect(payloads.length).toBeGreaterThan(3);
    for (const p of payloads) expect(Buffer.byteLength(p)).toBeLessThan(8_000);
    expect(payloads.map((p) => (JSON.parse(p) as { done?: true }).done)).toEqual([...payloads.slice(1).map(() => undefined), true]);

    // The dispatcher's side over a channel that hands each payload to the listener.
    let handler: (payload: string) => void = () => undefined;
    const channels = { listen: async (_c: string, h: (p: string) => void) => ((handler = h), async () => undefined) } as unknown as PgChannels;
    const got: string[] = [];
    let done = 0;
    await followLive(channels, 'job-3', (e) => got.push(e.type === 'hook.output' ? e.line.split(' ')[0]! : e.type), () => done++);
    for (const p of payloads) handler(p);
    expect(got).toEqual(events.map((_, i) => String(i)));
    expect(done).toBe(1);
  });
});

describe('batchPayloads', () => {
  it('keeps every notification under 8000 bytes: a long line is cut, an event too large to cut becomes a log line', () => {
    const only = (e: EngineEvent): string => {
      const payloads = batchPayloads([e], false);
      expect(payloads).toHaveLength(1);
      return payloads[0]!;
    };
    const long = only({ type: 'hook.output', runId: 'r1', hook: 'before[0]', line: 'x'.repeat(20_000) });
    expect(Buffer.byteLength(long)).toBeLessThan(8_000);
    expect((JSON.parse(long) as { es: { line: string }[] }).es[0]!.line).toMatch(/^x{2000}… \(cut\)$/);

    const huge = { type: 'drill.measured', drill: { notes: 'y'.repeat(20_000) } } as unknown as EngineEvent;
    const told = JSON.parse(only(huge)) as { es: EngineEvent[] };
    expect(told.es[0]).toEqual({ type: 'log', level: 'info', message: '(a drill.measured event was too large to relay live; it is in the store)' });

    const small = { type: 'log', level: 'warn', message: 'fine' } as const;
    expect(only(small)).toBe(JSON.stringify({ es: [small] }));
  });
});
