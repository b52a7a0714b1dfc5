/**
 * The dead man's switch (healthchecks.io style): a runbook's `alerts.ping.url`
 * hears `<url>/start` when a backup or drill starts, `<url>` when it
 * succeeds and `<url>/fail` when it fails (partial counts as a failure), with
 * a short text body naming the outcome and the run id. When the pings stop,
 * the service outside notices that Lifeboat stopped running.
 *
 * Sent directly, not through the outbox: a ping that arrives late is a wrong
 * ping (a "start" hours after the run, a "success" for a run long over). Each
 * request waits 5 s at most and is tried 3 times; one that still fails is a
 * warning on the run's log and never changes the run's outcome. The URL is
 * the check's credential: messages name its host only.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventSink } from '../events.js';
import { resolveSecret, type SecretEnv } from '../runbook/secrets.js';
import { parseDuration } from '../runbook/units.js';
import type { Runbook } from '../runbook/types.js';
import type { RunStatus } from '../store/records.js';
import { hostOf, sinkRequest } from './sinks/http.js';

export interface PingOptions {
  runbook: Pick<Runbook, 'name' | 'alerts'>;
  env: SecretEnv;
  emit: EventSink;
  /** What runs: named in the body (`backup`, `drill`). */
  kind: string;
  timeoutMs?: number;
  /** Tries after the first (default 2). */
  retries?: number;
  /** Between tries (default 1 s). */
  retryDelayMs?: number;
}

export interface DeadMansSwitch {
  /** Pings `/start` in the background: a slow ping service never delays the run. */
  start(runId: string): void;
  /**
   * After the start ping has settled, pings success or `/fail`. Never throws.
   * The body says only the status and the run id: error text stays in Lifeboat.
   * Nothing when the run never started (refused by its run lock: the run
   * holding it pings for itself).
   */
  finish(status: RunStatus): Promise<void>;
}

/** `<url>` with `/start` or `/fail` added to its path (a query, if any, kept). */
export function pingUrl(base: string, suffix: '' | '/start' | '/fail'): string {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${suffix}`;
  return url.toString();
}

/** The switch of a runbook that has `alerts.ping`; undefined for one that has none. */
export function deadMansSwitch(options: PingOptions): DeadMansSwitch | undefined {
  const ref = options.runbook.alerts.ping?.url;
  if (ref === undefined) return undefined;
  const who = `dead man's switch of ${options.runbook.name}`;
  let runId: string | undefined;
  const warn = (message: string) => options.emit({ type: 'log', level: 'warn', ...(runId !== undefined ? { runId } : {}), message });
  // Whatever happens here stays here: no ping may end or delay a run by throwing.
  const url = resolveSecret(ref, options.env, `the ping URL (alerts.ping.url) of ${options.runbook.name}`).then(
    (value) => {
      if (URL.canParse(value) && /^https?:$/.test(new URL(value).protocol)) return value;
      warn(`${who}: the ping URL is not an http(s) URL; no pings are sent`);
      return undefined;
    },
    (e: unknown) => {
      warn(`${who}: ${(e as Error).message}; no pings are sent`);
      return undefined;
    },
  );

  const retryDelay = options.retryDelayMs ?? testRetryDelayMs(options.env, (message) => warn(`${who}: ${message}`)) ?? 1000;
  const ping = async (suffix: '' | '/start' | '/fail', body: string): Promise<void> => {
    const base = await url;
    if (base === undefined) return;
    const retries = options.retries ?? 2;
    let last: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await sleep(retryDelay);
      try {
        await sinkRequest({
          sink: who,
          url: pingUrl(base, suffix),
          headers: { 'Content-Type': 'text/plain; charset=utf-8' },
          body,
          signal: new AbortController().signal,
          timeoutMs: options.timeoutMs ?? 5000,
          secrets: [base],
        });
        return;
      } catch (e) {
        last = e;
      }
    }
    warn(`${who}: ping ${suffix === '' ? 'success' : suffix.slice(1)} to ${hostOf(base)} failed ${retries + 1} times (${(last as Error).message}); the run goes on`);
  };

  let started: Promise<void> | undefined;
  return {
    start(id) {
      runId = id;
      started = ping('/start', `${options.kind} ${id} started\n`);
    },
    async finish(status) {
      if (started === undefined) return;
      await started;
      await ping(status === 'succeeded' ? '' : '/fail', `${options.kind} ${runId} ${status}\n`);
    },
  };
}

/**
 * Tests only: LIFEBOAT_TEST_PING_RETRY_DELAY (a duration such as `20ms`)
 * shortens the pause between tries, so a test of a ping service that is down
 * does not wait a second per retry. A bad value is warned about and the default
 * kept: nothing about a ping may fail a run.
 */
function testRetryDelayMs(env: SecretEnv, warn: (message: string) => void): number | undefined {
  const text = env.LIFEBOAT_TEST_PING_RETRY_DELAY;
  if (!text) return undefined;
  try {
    return parseDuration(text);
  } catch (e) {
    warn(`LIFEBOAT_TEST_PING_RETRY_DELAY ignored: ${(e as Error).message}`);
    return undefined;
  }
}
