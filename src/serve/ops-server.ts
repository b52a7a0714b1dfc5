/**
 * The operations endpoint of `lifeboat serve`: `GET /metrics` for Prometheus and
 * `GET /healthz` for a supervisor or load balancer, on node:http (two routes do
 * not need a framework).
 *
 * It listens on 127.0.0.1 unless a host is passed: the metrics name every
 * runbook and its state, which is not for the whole network to read. A failing
 * scrape or health check answers 500/503 with one line and the server goes on;
 * the full error goes to `onError` for serve's log.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { LifeboatError } from '../core/index.js';
import { firstLine, healthBody, type HealthReport } from './ops-health.js';

export type { HealthReport } from './ops-health.js';

export interface OpsServerOptions {
  /** Where to listen; 127.0.0.1 unless the operator asked for another address. */
  host?: string;
  /** 0 picks a free port (see the returned `port`). */
  port: number;
  registry: Registry;
  /** Whether serve is fit to work: store readable, scheduler running, not shutting down. */
  health(): Promise<HealthReport> | HealthReport;
  /** Told the whole error when a scrape or a health check throws (the response carries one line of it). */
  onError?(error: unknown, path: string): void;
  /**
   * How long `close()` lets requests under way finish before cutting their
   * connections. Idle keep-alive connections are closed at once either way.
   */
  closeGraceMs?: number;
}

export interface OpsServer {
  port: number;
  /** e.g. http://127.0.0.1:9464 */
  url: string;
  /** Stops listening, closes idle connections, lets requests under way finish (up to closeGraceMs). */
  close(): Promise<void>;
}

const allowedMethods = 'GET, HEAD';

export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const host = options.host ?? '127.0.0.1';
  const { port, registry } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new LifeboatError('USAGE', `The metrics port must be a whole number from 0 to 65535, got ${String(port)}`);
  }
  let closing: Promise<void> | undefined;

  const send = (res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}) => {
    // Once closing, a kept-alive connection would only hold close() up: finish this answer and hang up.
    if (closing) res.setHeader('Connection', 'close');
    res.writeHead(status, {
      'Content-Type': contentType,
      'Content-Length': Buffer.byteLength(body),
      // A scrape must see the store now, never a proxy's copy.
      'Cache-Control': 'no-store',
      ...headers,
    });
    // Node leaves the body out of a HEAD answer by itself; the headers stay those of GET.
    res.end(body);
  };

  const routes = new Map<string, (res: ServerResponse) => Promise<void>>([
    ['/metrics', async (res) => {
      let text: string;
      try {
        text = await registry.metrics();
      } catch (e) {
        options.onError?.(e, '/metrics');
        send(res, 500, 'text/plain; charset=utf-8', `metrics unavailable: ${firstLine(e)}\n`);
        return;
      }
      send(res, 200, registry.contentType, text);
    }],
    ['/healthz', async (res) => {
      let report: HealthReport;
      try {
        report = closing ? { ok: false, reasons: ['shutting down'] } : await options.health();
      } catch (e) {
        options.onError?.(e, '/healthz');
        report = { ok: false, reasons: [`health check failed: ${firstLine(e)}`] };
      }
      send(res, report.ok ? 200 : 503, 'application/json; charset=utf-8', `${JSON.stringify(healthBody(report))}\n`);
    }],
  ]);

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const route = routes.get(path);
    if (!route) {
      send(res, 404, 'text/plain; charset=utf-8', `not found: ${path} (this server answers /metrics and /healthz)\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', `method ${req.method ?? '?'} not allowed on ${path}; use GET or HEAD\n`, { Allow: allowedMethods });
      return;
    }
    await route(res);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      // A bug in a handler, not a failing scrape (those answer above): still an answer, never a crash.
      options.onError?.(e, req.url ?? '');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `internal error: ${firstLine(e)}\n`);
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    const failed = (e: NodeJS.ErrnoException) => reject(listenError(e, host, port));
    server.once('error', failed);
    server.listen({ host, port }, () => {
      server.off('error', failed);
      resolve();
    });
  });
  server.on('error', (e) => options.onError?.(e, 'server'));

  const bound = (server.address() as AddressInfo).port;
  const graceMs = options.closeGraceMs ?? 2_000;
  return {
    port: bound,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        const cut = setTimeout(() => server.closeAllConnections(), graceMs);
        cut.unref();
        server.close((e) => {
          clearTimeout(cut);
          if (e) reject(e);
          else resolve();
        });
        // Prometheus keeps its connection between scrapes; waiting for it to time out would stall shutdown.
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

function listenError(e: NodeJS.ErrnoException, host: string, port: number): LifeboatError {
  const where = `${host}:${port}`;
  const why =
    e.code === 'EADDRINUSE'
      ? 'the port is already in use'
      : e.code === 'EADDRNOTAVAIL'
        ? 'that address does not belong to this machine'
        : e.code === 'EACCES'
          ? 'permission denied (ports below 1024 need privileges)'
          : e.message;
  return new LifeboatError('USAGE', `Cannot serve /metrics and /healthz on ${where}: ${why}`, { cause: e });
}
