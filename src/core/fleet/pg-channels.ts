/**
 * PostgreSQL LISTEN/NOTIFY over one connection of its own (a LISTEN lives on
 * the session that issued it, so it cannot share a pool). Used for a remote
 * run's live events, its cancel and an agent's wake-up (live-events.ts).
 *
 * Best effort by contract: notifications are for live display and prompt
 * reactions, never for what must survive (that is in the store and the queue,
 * which callers also poll). So a dropped connection loses what was sent
 * meanwhile, never throws at the caller, and is reconnected (every LISTEN
 * issued again) on the next use or after RECONNECT_MS while anyone listens.
 * One connection keeps order: notifications go out in the order given.
 *
 * While the server does not answer, a notification is dropped at once for
 * RECONNECT_MS after a failed connect instead of trying one of its own: a
 * run's events come several a second, and each waiting out a connect timeout
 * (5 s when the network drops packets) in the publisher's queue piled them up
 * and held the job's end behind them long after the outage.
 *
 * A statement that fails without the server's answer (a timeout: the
 * connection died unseen, as after a failover or a dropped NAT entry, which
 * TCP keepalive finds only hours later) ends the connection, so the next use
 * connects afresh and LISTENs again instead of every notification waiting
 * out the query timeout on a dead socket. A connection that only listens
 * sends no statement to fail, so while anyone listens it is pinged every
 * PING_MS (one `SELECT 1` a minute per process): a dead LISTEN (an agent's
 * wake-up and cancels) is found within PING_MS + the query timeout.
 */
import type { Client } from 'pg';
import { batchedPerTurn } from '../batch-per-turn.js';

const RECONNECT_MS = 1_000;
const QUERY_TIMEOUT_MS = 10_000;
const PING_MS = 60_000;
/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more. */
export const MAX_NOTIFY_BYTES = 7_900;

type Handler = (payload: string) => void;

export class PgChannels {
  readonly #url: string;
  readonly #handlers = new Map<string, Set<Handler>>();
  #client: Client | undefined;
  #connecting: Promise<Client | undefined> | undefined;
  #retry: NodeJS.Timeout | undefined;
  /** Until when (Date.now()) the last failed connect is taken as the answer: notify drops rather than connects. */
  #downUntil = 0;
  #ping: NodeJS.Timeout | undefined;
  #closed = false;

  readonly #queryTimeoutMs: number;
  readonly #pingMs: number;

  /**
   * `queryTimeoutMs`: how long a statement may go unanswered before its connection is taken for dead;
   * `pingMs`: how often a listening connection is checked (tests shorten both).
   */
  constructor(url: string, options: { queryTimeoutMs?: number; pingMs?: number } = {}) {
    this.#url = url;
    this.#queryTimeoutMs = options.queryTimeoutMs ?? QUERY_TIMEOUT_MS;
    this.#pingMs = options.pingMs ?? PING_MS;
  }

  /** The live connection, connecting (and re-listening) when there is none; undefined while the server cannot be reached. */
  async #connected(): Promise<Client | undefined> {
    if (this.#closed) return undefined;
    if (this.#client) return this.#client;
    this.#connecting ??= this.#connect().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #connect(): Promise<Client | undefined> {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: this.#url, connectionTimeoutMillis: 5_000, query_timeout: this.#queryTimeoutMs, keepAlive: true });
    const lost = () => this.#lose(client);
    client.on('error', lost);
    client.on('end', lost);
    try {
      await client.connect();
      for (const channel of this.#handlers.keys()) await client.query(`LISTEN ${quoteChannel(channel)}`);
    } catch {
      this.#downUntil = Date.now() + RECONNECT_MS;
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      this.#scheduleReconnect();
      return undefined;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return undefined;
    }
    client.on('notification', (n) => {
      for (const h of this.#handlers.get(n.channel) ?? []) {
        try {
          h(n.payload ?? '');
        } catch {
          // A listener's bug must not stop the others.
        }
      }
    });
    this.#client = client;
    this.#startPing(client);
    return client;
  }

  #startPing(client: Client): void {
    clearInterval(this.#ping);
    this.#ping = setInterval(() => {
      // A publisher alone learns of a dead connection at its next notify; only a listener waits on one silently.
      if (this.#client === client && this.#handlers.size > 0) void client.query('SELECT 1').catch((e: unknown) => this.#failed(client, e));
    }, this.#pingMs);
    this.#ping.unref();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#retry || this.#handlers.size === 0) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.#connected();
    }, RECONNECT_MS);
    this.#retry.unref();
  }

  /** A statement on `client` failed: one the server refused leaves it be; any other (no SQLSTATE: a timeout, a broken socket) ends it. */
  #failed(client: Client, e: unknown): void {
    const code = (e as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return;
    this.#lose(client);
  }

  /** The connection is gone (or taken for gone): forgotten, ended, and made again while anyone listens. */
  #lose(client: Client): void {
    if (this.#client === client) {
      this.#client = undefined;
      clearInterval(this.#ping);
    }
    client.removeAllListeners('notification');
    void client.end().catch(() => undefined);
    this.#scheduleReconnect();
  }

  /**
   * Calls `handler` with each payload on `channel` from now on (once the
   * LISTEN is in place when this resolves and the server is reachable).
   * Returns the way to stop.
   */
  async listen(channel: string, handler: Handler): Promise<() => Promise<void>> {
    let set = this.#handlers.get(channel);
    const first = set === undefined;
    if (!set) this.#handlers.set(channel, (set = new Set()));
    set.add(handler);
    const client = await this.#connected();
    if (first && client) await this.#batched({ kind: 'listen', channel });
    return async () => {
      set.delete(handler);
      if (set.size > 0 || this.#handlers.get(channel) !== set) return;
      this.#handlers.delete(channel);
      if (this.#client) await this.#batched({ kind: 'unlisten', channel });
    };
  }

  /** Sends `payload` (at most MAX_NOTIFY_BYTES) on `channel`; resolves once sent or dropped. */
  async notify(channel: string, payload: string): Promise<void> {
    if (!this.#client && Date.now() < this.#downUntil) return;
    await this.#batched({ kind: 'notify', channel, payload });
  }

  /**
   * LISTEN, UNLISTEN and NOTIFY asked for while the connection is busy go
   * together in one round trip, in the order asked: serve dispatching a
   * minute's 500 fires made 1,500 statements one after another on this one
   * connection (a LISTEN, a wake-up NOTIFY and an UNLISTEN per job).
   */
  #batched = batchedPerTurn(
    async (commands: readonly Command[]) => {
      // Resolved once sent or dropped: a statement that fails is the connection's to handle (#failed), never the caller's.
      const client = await this.#connected().catch(() => undefined);
      if (client) for (const run of runsOf(commands)) await client.query(run.text, run.values).catch((e: unknown) => this.#failed(client, e));
      return commands.map(() => undefined);
    },
    // After the current microtasks: a burst's other commands join this batch.
    { max: COMMANDS_PER_BATCH, defer: queueMicrotask },
  );

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    clearInterval(this.#ping);
    const client = this.#client ?? (await this.#connecting);
    this.#client = undefined;
    if (client) {
      client.removeAllListeners('end');
      // end() waits for the server's goodbye; a connection that died unseen would keep it waiting.
      await Promise.race([client.end().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    }
  }
}

type Command = { kind: 'listen' | 'unlisten'; channel: string } | { kind: 'notify'; channel: string; payload: string };

/** Commands sent in one go at most. */
const COMMANDS_PER_BATCH = 1_000;

/**
 * The statements for `commands`, in order: consecutive (UN)LISTENs as one
 * multi-statement text, consecutive NOTIFYs as one SELECT over the pairs
 * (payloads go as parameters, never inside the text).
 */
function runsOf(commands: readonly Command[]): { text: string; values?: unknown[] }[] {
  const runs: { text: string; values?: unknown[] }[] = [];
  let i = 0;
  while (i < commands.length) {
    const first = commands[i]!;
    if (first.kind === 'notify') {
      const channels: string[] = [];
      const payloads: string[] = [];
      // PostgreSQL delivers a notification sent twice in one transaction once: a repeat starts the next statement.
      const seen = new Set<string>();
      for (let c = commands[i]; c?.kind === 'notify' && !seen.has(`${c.channel}\u0000${c.payload}`); c = commands[++i]) {
        seen.add(`${c.channel}\u0000${c.payload}`);
        channels.push(c.channel);
        payloads.push(c.payload);
      }
      runs.push(channels.length === 1 ? { text: 'SELECT pg_notify($1, $2)', values: [channels[0], payloads[0]] } : { text: 'SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS n(c, p)', values: [channels, payloads] });
    } else {
      const texts: string[] = [];
      for (let c = commands[i]; c !== undefined && c.kind !== 'notify'; c = commands[++i]) texts.push(`${c.kind === 'listen' ? 'LISTEN' : 'UNLISTEN'} ${quoteChannel(c.channel)}`);
      runs.push({ text: texts.join('; ') });
    }
  }
  return runs;
}

/** Channel names are identifiers: quoted, so a host name's dots and dashes are kept as they are. */
function quoteChannel(channel: string): string {
  return `"${channel.replace(/"/g, '""')}"`;
}
