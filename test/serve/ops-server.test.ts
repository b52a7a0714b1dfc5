/**
 * The ops HTTP server over real HTTP on 127.0.0.1: routes, methods, health,
 * a store that breaks under a scrape, and closing with connections open.
 */
import { request, Agent, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/core/clock.js';
import { isLifeboatError } from '../../src/core/errors.js';
import { openJsonStore, type JsonStore } from '../../src/core/store/json-store.js';
import { createMetrics } from '../../src/serve/metrics.js';
import { storeUnreadableReason, type HealthReport } from '../../src/serve/ops-health.js';
import { startOpsServer, type OpsServer, type OpsServerOptions } from '../../src/serve/ops-server.js';
import { backupRun, testRunbook } from '../core/alerts/fixtures.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const newDir = useTempDirs('ops-server', 'each');

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  socket: Socket;
}

/** One request with node:http, so the test controls the method, the agent and the socket. */
function call(url: string, options: { method?: string; agent?: Agent } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', agent: options.agent ?? false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, socket: req.socket! }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const servers: OpsServer[] = [];
const stores: JsonStore[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

async function start(options: Partial<OpsServerOptions> & Pick<OpsServerOptions, 'registry'>): Promise<OpsServer> {
  const server = await startOpsServer({ port: 0, health: () => ({ ok: true }), ...options });
  servers.push(server);
  return server;
}

/** A real JSON store with one backup, and the metrics of one runbook over it. */
async function metricsOverStore() {
  const home = await newDir();
  const store = await openJsonStore(home);
  stores.push(store);
  await store.putRun(backupRun('2026-03-10T02:00:00.000Z', { id: 'r1' }));
  const { registry } = createMetrics({ store: async () => store, runbooks: () => [testRunbook()], clock: new FakeClock('2026-03-10T12:00:00.000Z'), processMetrics: false });
  return { store, registry };
}

describe('ops server', () => {
  it('listens on 127.0.0.1 by default and serves /metrics with the registry content type', async () => {
    const { registry } = await metricsOverStore();
    const server = await start({ registry });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.port).toBeGreaterThan(0);
    const res = await call(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(registry.contentType);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatch(/^lifeboat_runbooks 1$/m);
    expect(res.body).toMatch(/^lifeboat_backup_last_success_timestamp_seconds\{runbook="app-data"\} 1773108000$/m);
    expect(res.socket.remoteAddress).toBe('127.0.0.1');
    // A query string does not change the route (Prometheus may add ?format= parameters).
    expect((await call(`${server.url}/metrics?name[]=x`)).status).toBe(200);
  });

  it('answers HEAD like GET without a body', async () => {
    const { registry } = await metricsOverStore();
    const server = await start({ registry });
    const head = await call(`${server.url}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toBe(registry.contentType);
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
    expect(head.body).toBe('');
    const health = await call(`${server.url}/healthz`, { method: 'HEAD' });
    expect(health.status).toBe(200);
    expect(health.body).toBe('');
  });

  it('/healthz: 200 {status: ok} with the details when healthy, 503 with the reasons when not', async () => {
    const { registry } = await metricsOverStore();
    let report: HealthReport = { ok: true, details: { runbooks: 1, status: 'details cannot override this' } };
    const server = await start({ registry, health: () => report });
    const ok = await call(`${server.url}/healthz`);
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(ok.body)).toEqual({ status: 'ok', runbooks: 1 });

    report = { ok: false, reasons: ['scheduler stopped', 'shutting down'] };
    const down = await call(`${server.url}/healthz`);
    expect(down.status).toBe(503);
    expect(JSON.parse(down.body)).toEqual({ status: 'unhealthy', reasons: ['scheduler stopped', 'shutting down'] });

    report = { ok: false };
    expect(JSON.parse((await call(`${server.url}/healthz`)).body)).toEqual({ status: 'unhealthy', reasons: ['unhealthy (no reason given)'] });
  });

  it('/healthz: a health check that throws is a 503 with its first line, reported to onError', async () => {
    const { registry } = await metricsOverStore();
    const errors: { error: unknown; path: string }[] = [];
    const server = await start({
      registry,
      health: async () => {
        throw new Error('scheduler state unknown\nstack-ish detail');
      },
      onError: (error, path) => errors.push({ error, path }),
    });
    const res = await call(`${server.url}/healthz`);
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toEqual({ status: 'unhealthy', reasons: ['health check failed: scheduler state unknown'] });
    expect(errors.map((e) => e.path)).toEqual(['/healthz']);
  });

  it('storeUnreadableReason names a damaged store, and is silent for a good one', async () => {
    const { store } = await metricsOverStore();
    expect(await storeUnreadableReason(async () => store)).toBeUndefined();
    await writeFile(store.path, '{"format": "lifeboat-state", "runs": [tru');
    expect(await storeUnreadableReason(async () => store)).toMatch(/^store unreadable: .*state\.json/);
  });

  it('404 for other paths, 405 with Allow for other methods', async () => {
    const { registry } = await metricsOverStore();
    const server = await start({ registry });
    for (const path of ['/', '/metric', '/metrics/', '/healthz/x', '/slack/events']) {
      const res = await call(`${server.url}${path}`);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(res.body).toContain(`not found: ${path}`);
    }
    for (const [method, path] of [['POST', '/metrics'], ['PUT', '/healthz'], ['DELETE', '/metrics']] as const) {
      const res = await call(`${server.url}${path}`, { method });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 405 });
      expect(res.headers.allow).toBe('GET, HEAD');
    }
  });

  it('a store that throws under a scrape gives a one-line 500, and the server keeps serving', async () => {
    const { store, registry } = await metricsOverStore();
    const errors: string[] = [];
    const server = await start({ registry, onError: (_e, path) => errors.push(path) });
    const good = await readFile(store.path, 'utf8');
    await writeFile(store.path, '{"format": "lifeboat-state", "runs": [tru');

    const broken = await call(`${server.url}/metrics`);
    expect(broken.status).toBe(500);
    expect(broken.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(broken.body).toMatch(/^metrics unavailable: .*state\.json.*\n$/);
    expect(broken.body.trimEnd()).not.toContain('\n');
    expect(errors).toEqual(['/metrics']);

    expect((await call(`${server.url}/healthz`)).status).toBe(200);
    await writeFile(store.path, good);
    const again = await call(`${server.url}/metrics`);
    expect(again.status).toBe(200);
    expect(again.body).toMatch(/^lifeboat_runbooks 1$/m);
  });

  it('a store that cannot even be opened gives a 500 too', async () => {
    const home = await newDir();
    await writeFile(`${home}/state.json`, 'not json at all');
    const { registry } = createMetrics({ store: () => openJsonStore(home), runbooks: () => [testRunbook()], clock: new FakeClock(), processMetrics: false });
    const server = await start({ registry });
    const res = await call(`${server.url}/metrics`);
    expect(res.status).toBe(500);
    expect(res.body).toMatch(/^metrics unavailable: /);
    expect((await call(`${server.url}/metrics`)).status).toBe(500);
  });

  it('close() ends an idle keep-alive connection instead of waiting for it', async () => {
    const { registry } = await metricsOverStore();
    const server = await startOpsServer({ port: 0, registry, health: () => ({ ok: true }) });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await call(`${server.url}/metrics`, { agent });
      expect(first.headers.connection).toBe('keep-alive');
      // The agent holds the socket open for reuse, as Prometheus does between scrapes.
      const reused = await call(`${server.url}/healthz`, { agent });
      expect(reused.socket).toBe(first.socket);
      const socketClosed = new Promise<void>((resolve) => first.socket.once('close', () => resolve()));
      expect(first.socket.destroyed).toBe(false);

      await server.close();
      await socketClosed;
      await expect(call(`${server.url}/healthz`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      // A second close() is the same close.
      await server.close();
    } finally {
      agent.destroy();
    }
  });

  it('close() lets a request under way finish, and tells its client to hang up', async () => {
    const { registry } = await metricsOverStore();
    let release!: () => void;
    let entered!: () => void;
    const inHealth = new Promise<void>((resolve) => (entered = resolve));
    let slowOnce = true;
    const server = await startOpsServer({
      port: 0,
      registry,
      health: async () => {
        if (slowOnce) {
          slowOnce = false;
          entered();
          await new Promise<void>((resolve) => (release = resolve));
        }
        return { ok: true };
      },
    });
    const idleAgent = new Agent({ keepAlive: true });
    // Keep-alive too, so the client does not ask to hang up itself: the server must say it.
    const slowAgent = new Agent({ keepAlive: true });
    try {
      // Another connection, idle, that must not hold close() up either.
      const idle = await call(`${server.url}/metrics`, { agent: idleAgent });
      const idleClosed = new Promise<void>((resolve) => idle.socket.once('close', () => resolve()));
      const slow = call(`${server.url}/healthz`, { agent: slowAgent });
      await inHealth;
      const closed = server.close();
      release();
      const res = await slow;
      expect(res.status).toBe(200);
      expect(res.headers.connection).toBe('close');
      await closed;
      await idleClosed;
    } finally {
      idleAgent.destroy();
      slowAgent.destroy();
    }
  });

  it('refuses a busy port and a bad port with a message that says where', async () => {
    const { registry } = await metricsOverStore();
    const first = await start({ registry });
    const busy = await startOpsServer({ port: first.port, registry, health: () => ({ ok: true }) }).catch((e: unknown) => e);
    expect(isLifeboatError(busy, 'USAGE')).toBe(true);
    expect((busy as Error).message).toBe(`Cannot serve /metrics and /healthz on 127.0.0.1:${first.port}: the port is already in use`);
    const bad = await startOpsServer({ port: 70_000, registry, health: () => ({ ok: true }) }).catch((e: unknown) => e);
    expect(isLifeboatError(bad, 'USAGE')).toBe(true);
    expect((bad as Error).message).toContain('70000');
  });
});
