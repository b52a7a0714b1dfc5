/**
 * A recording HTTP server on 127.0.0.1 (port 0): what webhooks, ntfy,
 * PagerDuty and dead man's switch pings are sent to in tests. It keeps every
 * request (method, path with query, headers, body) and answers 200 unless told
 * otherwise for a path: another status (500, 429, 400…), hang (hold the
 * connection and answer nothing until the client gives up or the server
 * closes), or destroy the connection without answering. `behave(path)` with
 * no behaviour puts the path back to 200.
 *
 * A request is recorded as soon as its body has arrived, whatever the answer,
 * so a test can tell "sent, refused" from "never sent".
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  /** 1-based, in arrival order. */
  seq: number;
  method: string;
  /** Path and query as sent, e.g. `/lifeboat-ops` or `/ping/abc/start`. */
  path: string;
  /** The path without its query, e.g. `/ping/abc/start`. */
  pathname: string;
  /** Lower-cased names, as Node gives them. */
  headers: IncomingHttpHeaders;
  body: string;
  /** The answer given: a status, or 'hang' / 'destroy'. */
  answered: number | 'hang' | 'destroy';
}

export type Behaviour =
  /** Answer this status, with `body` (default: a short text naming the status). */
  | { status: number; body?: string; headers?: Record<string, string> }
  /** Answer nothing; the connection stays open until the client gives up or close(). */
  | 'hang'
  /** Destroy the connection as soon as the request has arrived. */
  | 'destroy';

export interface RecordingHttpServer {
  /** http://127.0.0.1:PORT (no trailing slash). */
  url: string;
  /** Every request so far, in arrival order (a live array). */
  readonly requests: readonly RecordedRequest[];
  /**
   * How to answer requests to `path` (exact match on the path without its
   * query). No behaviour: back to 200. `'*'` sets the default for every path
   * without one of its own.
   */
  behave(path: string, behaviour?: Behaviour): void;
  /**
   * Resolves with the first request (in order) for which `predicate` holds,
   * already there or still to come; rejects after `timeoutMs` (default 5000)
   * naming what did arrive.
   */
  waitFor(predicate: (request: RecordedRequest) => boolean, options?: { timeoutMs?: number }): Promise<RecordedRequest>;
  /** Stops listening and destroys every open connection (hung ones too). */
  close(): Promise<void>;
}

export async function startRecordingHttp(): Promise<RecordingHttpServer> {
  const requests: RecordedRequest[] = [];
  const behaviours = new Map<string, Behaviour>();
  const sockets = new Set<Socket>();
  const hung = new Set<ServerResponse>();
  const waiters = new Set<() => void>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      const bare = path.split('?')[0] ?? path;
      const behaviour = behaviours.get(bare) ?? behaviours.get('*') ?? { status: 200 };
      const answered = typeof behaviour === 'string' ? behaviour : behaviour.status;
      requests.push({
        seq: requests.length + 1,
        method: req.method ?? 'GET',
        path,
        pathname: bare,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        answered,
      });
      for (const wake of [...waiters]) wake();
      if (behaviour === 'destroy') {
        req.socket.destroy();
      } else if (behaviour === 'hang') {
        hung.add(res);
        res.on('close', () => hung.delete(res));
      } else {
        res.writeHead(behaviour.status, { 'Content-Type': 'text/plain', ...behaviour.headers });
        res.end(behaviour.body ?? `status ${behaviour.status}`);
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    behave(path, behaviour) {
      if (behaviour === undefined) behaviours.delete(path);
      else behaviours.set(path, behaviour);
    },
    waitFor(predicate, options = {}) {
      const timeoutMs = options.timeoutMs ?? 5000;
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = requests.find(predicate);
          if (!found) return false;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const seen = requests.map((r) => `${r.method} ${r.path} → ${r.answered}`).join(', ') || 'none';
          reject(new Error(`recording HTTP server: no matching request within ${timeoutMs} ms (seen: ${seen})`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    async close() {
      for (const res of hung) res.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
