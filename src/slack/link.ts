/**
 * Keeps the Slack face connected without ever taking its host down: serve's
 * scheduler, /metrics and alert deliveries must go on while Slack is
 * unreachable or refuses a token. One loop: connect; when that fails, wait
 * and try again (1 s doubling to 60 s; a refused token every 5 minutes, since
 * only a person can fix it); once connected, wait for the connection to drop
 * (Socket Mode: the server closed the socket or asked for a refresh), then
 * connect again at once.
 *
 * No Bolt here: ./app.ts hands in `connect` (auth.test, then the receiver)
 * and `dropped`, so the loop is the same for Socket Mode and HTTP and is
 * tested without Slack.
 */

export type SlackLinkState =
  | { state: 'connecting'; reason?: string }
  | { state: 'connected' }
  /** `refused`: Slack rejected a token; only a person can fix that. */
  | { state: 'disconnected'; reason: string; refused: boolean; retryInMs: number };

/** What went wrong on one attempt; `refused` when no retry can help (a bad token). */
export class SlackLinkError extends Error {
  readonly refused: boolean;
  constructor(message: string, options: { refused?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SlackLinkError';
    this.refused = options.refused ?? false;
  }
}

export interface SlackLinkOptions {
  /** One attempt: resolves when connected, rejects (a SlackLinkError, ideally) when not. */
  connect(): Promise<void>;
  /** Cleans up after a failed or timed-out attempt (a half-open socket), before the wait. */
  abandon?(): Promise<void>;
  /** Resolves when an established connection is lost (never, for HTTP mode). */
  dropped(): Promise<string>;
  /** Every state change, for the log and /healthz. */
  onState(state: SlackLinkState): void;
  /** First retry delay (default 1 s), doubled up to `maxDelayMs` (default 60 s). */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Retry delay after a refused token (default 5 min). */
  refusedDelayMs?: number;
  /** How long one attempt may take before it counts as failed (default 30 s). */
  attemptTimeoutMs?: number;
}

export interface SlackLink {
  current(): SlackLinkState;
  /** Stops the loop (and any wait); resolves when it has returned. */
  stop(): Promise<void>;
}

export function keepSlackLinked(options: SlackLinkOptions): SlackLink {
  const minDelay = options.minDelayMs ?? 1000;
  const maxDelay = options.maxDelayMs ?? 60_000;
  const refusedDelay = options.refusedDelayMs ?? 5 * 60_000;
  const attemptTimeout = options.attemptTimeoutMs ?? 30_000;
  let state: SlackLinkState = { state: 'connecting' };
  const stopped = new AbortController();
  const set = (next: SlackLinkState) => {
    state = next;
    options.onState(next);
  };

  const loop = async () => {
    let delay = minDelay;
    let reason: string | undefined;
    while (!stopped.signal.aborted) {
      set(reason ? { state: 'connecting', reason } : { state: 'connecting' });
      try {
        await withTimeout(options.connect(), attemptTimeout, stopped.signal);
      } catch (e) {
        await options.abandon?.().catch(() => undefined);
        if (stopped.signal.aborted) return;
        const refused = e instanceof SlackLinkError && e.refused;
        const wait = refused ? refusedDelay : delay;
        reason = (e as Error).message ?? String(e);
        set({ state: 'disconnected', reason, refused, retryInMs: wait });
        await sleep(wait, stopped.signal);
        delay = Math.min(delay * 2, maxDelay);
        continue;
      }
      if (stopped.signal.aborted) return;
      delay = minDelay;
      set({ state: 'connected' });
      const lost = await Promise.race([options.dropped(), aborted(stopped.signal)]);
      if (stopped.signal.aborted) return;
      // A connection that was up reconnects at once (Slack asks for that on a refresh); failures then back off.
      reason = `connection lost (${lost}); reconnecting`;
      set({ state: 'disconnected', reason, refused: false, retryInMs: 0 });
    }
  };
  const done = loop();

  return {
    current: () => state,
    async stop() {
      stopped.abort();
      await done;
    },
  };
}

function withTimeout<T>(work: Promise<T>, ms: number, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new SlackLinkError(`no connection within ${ms / 1000} s`)), ms);
    const onAbort = () => reject(new Error('stopped'));
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    work.then(
      (value) => (settle(), resolve(value)),
      (error: unknown) => (settle(), reject(error)),
    );
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function aborted(signal: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve('stopped');
    else signal.addEventListener('abort', () => resolve('stopped'), { once: true });
  });
}
