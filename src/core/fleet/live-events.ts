/**
 * A remote run's live side (issue 19), over PgChannels (pg-channels.ts):
 *
 * - the agent publishes the engine's events of the job it runs on the job's
 *   channel, throttled: progress ticks at most PROGRESS_EVERY_MS per stage
 *   (the latest wins), every other event (stage start and finish, hook
 *   output, logs, alerts) at once and in order;
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

const compact = (id: string) => id.replace(/-/g, '');
export const jobEventsChannel = (jobId: string): string => `lifeboat_job_${compact(jobId)}`;
export const jobCancelChannel = (jobId: string): string => `lifeboat_cancel_${compact(jobId)}`;
/** Channel names are cut at 63 bytes by PostgreSQL: a host name too long for that is hashed. */
export const hostWakeChannel = (host: string): string =>
  `lifeboat_wake_${Buffer.byteLength(host) <= 49 ? host : createHash('sha256').update(host).digest('hex').slice(0, 40)}`;

/** What travels on a job's events channel. */
export type LiveMessage = { e: EngineEvent } | { done: true };

/**
 * One notification's text, under PostgreSQL's limit: a long hook line or log
 * message is cut; an event still too large (an alert with a long history)
 * becomes a log line saying it was not relayed.
 */
export function livePayload(message: LiveMessage): string {
  const text = JSON.stringify(message);
  if (Buffer.byteLength(text) <= MAX_NOTIFY_BYTES || !('e' in message)) return text;
  const e = message.e;
  if (e.type === 'hook.output') return JSON.stringify({ e: { ...e, line: `${e.line.slice(0, 2_000)}… (cut)` } });
  if (e.type === 'log') return JSON.stringify({ e: { ...e, message: `${e.message.slice(0, 2_000)}… (cut)` } });
  return JSON.stringify({ e: { type: 'log', level: 'info', message: `(a ${e.type} event was too large to relay live; it is in the store)` } satisfies EngineEvent });
}

export interface LivePublisher {
  sink: EventSink;
  /** Sends the last progress held back, then `done`; resolves once they went (or were dropped). */
  finish(): Promise<void>;
}

/** The agent's sink for one job: every event goes on the job's channel, progress throttled. */
export function publishLive(channels: PgChannels, jobId: string, now: () => number = Date.now): LivePublisher {
  const channel = jobEventsChannel(jobId);
  let sent: Promise<void> = Promise.resolve();
  const send = (m: LiveMessage) => {
    const payload = livePayload(m);
    sent = sent.then(() => channels.notify(channel, payload));
  };
  const lastProgressAt = new Map<string, number>();
  const held = new Map<string, EngineEvent>();
  let timer: NodeJS.Timeout | undefined;
  const flushHeld = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    for (const [stage, e] of held) {
      lastProgressAt.set(stage, now());
      send({ e });
    }
    held.clear();
  };
  const sink: EventSink = (e) => {
    if (e.type === 'stage.progress') {
      const last = lastProgressAt.get(e.stage);
      if (last === undefined || now() - last >= PROGRESS_EVERY_MS) {
        held.delete(e.stage);
        lastProgressAt.set(e.stage, now());
        send({ e });
      } else {
        held.set(e.stage, e);
        timer ??= setTimeout(flushHeld, PROGRESS_EVERY_MS - (now() - last));
      }
      return;
    }
    // What was held back goes first, so a stage's last tick never arrives after its finish.
    flushHeld();
    send({ e });
  };
  return {
    sink,
    async finish() {
      flushHeld();
      send({ done: true });
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
    if ('done' in message) onDone();
    else if (message.e && typeof message.e.type === 'string') emit(message.e);
  });
}
