/**
 * A remote run's live side (issue 19), over PgChannels (pg-channels.ts):
 *
 * - the agent publishes the engine's events of the job it runs on the job's
 *   channel, throttled: progress ticks at most PROGRESS_EVERY_MS per stage
 *   (the latest wins), every other event (stage start and finish, hook
 *   output, logs, alerts) in order; the events of BATCH_MS go in one
 *   notification (`{ es: [...] }`, as many as fit under PostgreSQL's limit),
 *   the last one with `done`: a tiny backup's ~14 NOTIFYs (each a statement
 *   on the agent's connection, and a wake-up of every listener) are ~3;
 * - the dispatcher re-emits them to its face's event sink, so the CLI's
 *   progress, the Slack message and the console update as for a local run;
 * - the dispatcher's cancel goes the other way, on the job's cancel channel;
 * - a dispatcher wakes the host's agent on its wake channel, so a job starts
 *   without waiting for the agent's next poll.
 */
import { createHash } from 'node:crypto';
import type { EngineEvent, EventSink } from '../events.js';
import { MAX_NOTIFY_BYTES, type PgChannels } from './pg-channels.js';

/** ≤ 10 progress notifications per second per job: enough for a live bar, cheap for PostgreSQL. */
export const PROGRESS_EVERY_MS = 100;
/** How long an event may wait for others to share its notification: well under what an eye or a Slack edit notices. */
export const BATCH_MS = 50;

const compact = (id: string) => id.replace(/-/g, '');
export const jobEventsChannel = (jobId: string): string => `lifeboat_job_${compact(jobId)}`;
export const jobCancelChannel = (jobId: string): string => `lifeboat_cancel_${compact(jobId)}`;
/** Channel names are cut at 63 bytes by PostgreSQL: a host name too long for that is hashed. */
export const hostWakeChannel = (host: string): string =>
  `lifeboat_wake_${Buffer.byteLength(host) <= 49 ? host : createHash('sha256').update(host).digest('hex').slice(0, 40)}`;

/** What travels on a job's events channel: events in order and/or the end (`{ e }`: one event, as an agent from before batching sends it). */
export type LiveMessage = { e: EngineEvent } | { es: EngineEvent[]; done?: true } | { done: true };

/**
 * The event, or what of it fits in a notification under PostgreSQL's limit: a
 * long hook line or log message is cut; an event still too large (an alert
 * with a long history) becomes a log line saying it was not relayed.
 */
function relayable(e: EngineEvent): EngineEvent {
  // Room for the envelope around it.
  if (Buffer.byteLength(JSON.stringify(e)) <= MAX_NOTIFY_BYTES - 32) return e;
  if (e.type === 'hook.output') return { ...e, line: `${e.line.slice(0, 2_000)}… (cut)` };
  if (e.type === 'log') return { ...e, message: `${e.message.slice(0, 2_000)}… (cut)` };
  return { type: 'log', level: 'info', message: `(a ${e.type} event was too large to relay live; it is in the store)` } satisfies EngineEvent;
}

/** Events in order as few notifications as fit under PostgreSQL's limit; `done` on the last. */
export function batchPayloads(events: readonly EngineEvent[], done: boolean): string[] {
  const out: string[] = [];
  let texts: string[] = [];
  let bytes = 0;
  const envelope = Buffer.byteLength('{"es":[],"done":true}');
  const close = (last: boolean) => out.push(`{"es":[${texts.join(',')}]${last && done ? ',"done":true' : ''}}`);
  for (const e of events) {
    const text = JSON.stringify(relayable(e));
    const size = Buffer.byteLength(text) + 1;
    if (texts.length > 0 && bytes + size + envelope > MAX_NOTIFY_BYTES) {
      close(false);
      texts = [];
      bytes = 0;
    }
    texts.push(text);
    bytes += size;
  }
  if (texts.length > 0) close(true);
  else if (done) out.push(JSON.stringify({ done: true }));
  return out;
}

export interface LivePublisher {
  sink: EventSink;
  /** Sends the last progress held back, then `done`; resolves once they went (or were dropped). */
  finish(): Promise<void>;
}

/** The agent's sink for one job: every event goes on the job's channel, progress throttled, batched by BATCH_MS. */
export function publishLive(channels: PgChannels, jobId: string, now: () => number = Date.now): LivePublisher {
  const channel = jobEventsChannel(jobId);
  let sent: Promise<void> = Promise.resolve();
  let batch: EngineEvent[] = [];
  let batchTimer: NodeJS.Timeout | undefined;
  const sendBatch = (done: boolean) => {
    if (batchTimer) clearTimeout(batchTimer);
    batchTimer = undefined;
    const payloads = batchPayloads(batch, done);
    batch = [];
    for (const payload of payloads) sent = sent.then(() => channels.notify(channel, payload));
  };
  const send = (e: EngineEvent) => {
    batch.push(e);
    batchTimer ??= setTimeout(() => sendBatch(false), BATCH_MS);
  };
  const lastProgressAt = new Map<string, number>();
  const held = new Map<string, EngineEvent>();
  let timer: NodeJS.Timeout | undefined;
  const flushHeld = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    for (const [stage, e] of held) {
      lastProgressAt.set(stage, now());
      send(e);
    }
    held.clear();
  };
  const sink: EventSink = (e) => {
    if (e.type === 'stage.progress') {
      const last = lastProgressAt.get(e.stage);
      if (last === undefined || now() - last >= PROGRESS_EVERY_MS) {
        held.delete(e.stage);
        lastProgressAt.set(e.stage, now());
        send(e);
      } else {
        held.set(e.stage, e);
        timer ??= setTimeout(flushHeld, PROGRESS_EVERY_MS - (now() - last));
      }
      return;
    }
    // What was held back goes first, so a stage's last tick never arrives after its finish.
    flushHeld();
    send(e);
  };
  return {
    sink,
    async finish() {
      flushHeld();
      sendBatch(true);
      await sent;
    },
  };
}

/** The dispatcher's side: each event of the job to `emit`, and `onDone` when the agent says it finished. */
export async function followLive(channels: PgChannels, jobId: string, emit: EventSink, onDone: () => void): Promise<() => Promise<void>> {
  return channels.listen(jobEventsChannel(jobId), (payload) => {
    let message: LiveMessage;
    try {
      message = JSON.parse(payload) as LiveMessage;
    } catch {
      return;
    }
    // Each event alone; a listener's bug must not stop the events after it, nor the end.
    const events = 'es' in message && Array.isArray(message.es) ? message.es : 'e' in message ? [message.e] : [];
    for (const e of events) {
      if (e && typeof e.type === 'string') {
        try {
          emit(e);
        } catch {
          // As one event alone before batching: its own loss only.
        }
      }
    }
    if ('done' in message && message.done) onDone();
  });
}
