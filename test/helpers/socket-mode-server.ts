/**
 * A local stand-in for Slack's Socket Mode endpoint (the `ws` package on
 * 127.0.0.1): what apps.connections.open hands out (test/slack/fake-slack.ts
 * answers it with `url()`). It speaks Socket Mode's envelopes as Slack does:
 * `{type:"hello"}` on connect; `slash_commands` and `interactive` envelopes
 * whose ack (`{envelope_id}`) the app must send back within 3 s;
 * `{type:"disconnect", reason}` to ask for a refresh; or the socket simply
 * dropped. Every connection and every message received is recorded.
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface SocketModeConnection {
  /** 1-based, in connection order; also in the URL's path. */
  n: number;
  socket: WebSocket;
  /** Parsed JSON messages the app sent on this connection. */
  received: Record<string, unknown>[];
  closed: boolean;
}

export interface SocketModeServer {
  /** A fresh ws:// URL, as apps.connections.open answers (each names the next connection). */
  url(): string;
  connections: SocketModeConnection[];
  /** The newest open connection that was sent hello; throws when there is none. */
  current(): SocketModeConnection;
  /** Resolves once `count` connections have been opened (and sent hello); rejects after the deadline. */
  waitForConnections(count: number, timeoutMs?: number): Promise<SocketModeConnection>;
  /**
   * Sends an envelope on the current connection and resolves with the app's
   * ack; rejects when none arrives within `ackWithinMs` (default 3 s, Slack's limit).
   */
  send(type: 'slash_commands' | 'interactive', payload: Record<string, unknown>, ackWithinMs?: number): Promise<Record<string, unknown>>;
  /** Asks the app to reconnect, as Slack does before recycling a server. */
  requestRefresh(reason?: string): void;
  /** Drops the current connection without a close handshake (a network cut). */
  drop(): void;
  close(): Promise<void>;
}

export async function startSocketModeServer(): Promise<SocketModeServer> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  const connections: SocketModeConnection[] = [];
  let envelopes = 0;
  let urls = 0;

  server.on('connection', (socket) => {
    const connection: SocketModeConnection = { n: connections.length + 1, socket, received: [], closed: false };
    connections.push(connection);
    socket.on('message', (data) => {
      try {
        connection.received.push(JSON.parse(String(data)) as Record<string, unknown>);
      } catch {
        connection.received.push({ unparsed: String(data) });
      }
    });
    socket.on('close', () => (connection.closed = true));
    socket.send(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'lifeboat-test', approximate_connection_time: 3600 }, connection_info: { app_id: 'A000FAKE' } }));
  });

  const current = () => {
    const open = connections.filter((c) => !c.closed && c.socket.readyState === c.socket.OPEN).at(-1);
    if (!open) throw new Error(`no open Socket Mode connection (${connections.length} so far)`);
    return open;
  };

  const until = async <T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = probe();
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  return {
    url: () => `ws://127.0.0.1:${port}/link/${++urls}`,
    connections,
    current,
    waitForConnections: (count, timeoutMs = 20_000) =>
      until(`${count} Socket Mode connection(s) (have ${connections.length})`, () => (connections.length >= count && !connections[count - 1]!.closed ? connections[count - 1] : undefined), timeoutMs),
    async send(type, payload, ackWithinMs = 3000) {
      const connection = current();
      const id = `envelope-${++envelopes}`;
      connection.socket.send(JSON.stringify({ envelope_id: id, type, payload, accepts_response_payload: type === 'slash_commands' }));
      return until(`the ack of ${type} envelope ${id}`, () => connection.received.find((m) => m.envelope_id === id), ackWithinMs);
    },
    requestRefresh(reason = 'refresh_requested') {
      current().socket.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'lifeboat-test' } }));
    },
    drop() {
      current().socket.terminate();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of connections) c.socket.terminate();
        server.close(() => resolve());
      }),
  };
}
