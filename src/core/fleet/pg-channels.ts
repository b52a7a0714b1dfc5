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
    if (first && client) await client.query(`LISTEN ${quoteChannel(channel)}`).catch((e: unknown) => this.#failed(client, e));
    return async () => {
      set.delete(handler);
      if (set.size > 0 || this.#handlers.get(channel) !== set) return;
      this.#handlers.delete(channel);
      await this.#client?.query(`UNLISTEN ${quoteChannel(channel)}`).catch(() => undefined);
    };
  }

  /** Sends `payload` (at most MAX_NOTIFY_BYTES) on `channel`; resolves once sent or dropped. */
  async notify(channel: string, payload: string): Promise<void> {
    if (!this.#client && Date.now() < this.#downUntil) return;
    const client = await this.#connected();
    await client?.query('SELECT pg_notify($1, $2)', [channel, payload]).catch((e: unknown) => client && this.#failed(client, e));
  }

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

/** Channel names are identifiers: quoted, so a host name's dots and dashes are kept as they are. */
function quoteChannel(channel: string): string {
  return `"${channel.replace(/"/g, '""')}"`;
}
