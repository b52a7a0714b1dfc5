/**
 * serve's outbox loop (src/serve/daemon.ts): it delivers transitions that
 * another process wrote (on its 1 s tick) and, at once, those its own jobs
 * write; the sinks come from buildSinks. Real HTTP to a recording server; the
 * job is a command of the registry handed to serve.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { CommandContext, CommandResult } from '../../commands/command.js';
import { findCommand } from '../../commands/index.js';
import type { Invocation } from '../../commands/invoke.js';
import { systemClock } from '../../src/core/clock.js';
import { ExitCode } from '../../src/core/errors.js';
import { deliveriesFor } from '../../src/core/notify/routing.js';
import { MemoryStore } from '../../src/core/store/memory-store.js';
import type { AlertRecord } from '../../src/core/store/records.js';
import { serve } from '../../src/serve/daemon.js';
import { commandContext } from '../commands/alerts-context.js';
import { httpTestSink, received } from '../core/notify/helpers/http-test-sink.js';
import { writePipelineRunbook } from '../helpers/pipeline-runbook.js';
import { startRecordingHttp, type RecordingHttpServer } from '../helpers/recording-http.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('serve-outbox');
const servers: RecordingHttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const routes = { alerts: { notify: [{ sink: 'hook' }], anomaly: { window: 10, minHistory: 5, threshold: 3.5 } } };

function alertOf(key: string): AlertRecord {
  const now = new Date().toISOString();
  return { key, runbook: 'app', rule: key.split(':')[0]!, severity: 'critical', message: `${key} holds`, firstSeen: now, lastSeen: now, count: 1, status: 'open' };
}

/** A runbook whose verify is due every second (so serve runs a job at once), in a fresh folder. */
async function runbooks(schedule: boolean) {
  const dir = await tempDir();
  const runbooksDir = join(dir, 'runbooks');
  await mkdir(runbooksDir);
  const file = writePipelineRunbook(runbooksDir, 'app', { sources: [{ name: 'files', path: dir }], repo: join(dir, 'repo') });
  if (schedule) {
    const doc = parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    doc.schedule = { verify: '* * * * * *', timezone: 'UTC' };
    await writeFile(file, stringify(doc));
  }
  return { runbooksDir, home: join(dir, 'home'), cwd: dir };
}

async function runServe(options: { store: MemoryStore; http: RecordingHttpServer; schedule: boolean; intervalMs?: number; job?: (ctx: CommandContext) => Promise<void> }) {
  const stop = new AbortController();
  const registry = {
    findCommand,
    async invokeCommand(_inv: Invocation, ctx: CommandContext): Promise<CommandResult> {
      await options.job?.(ctx);
      return { exitCode: ExitCode.ok, summary: 'done' };
    },
  };
  const logs: string[] = [];
  let opsUrl: string | undefined;
  const ctx: CommandContext = {
    ...commandContext({ store: options.store }),
    ...(await runbooks(options.schedule)),
    clock: systemClock,
    signal: stop.signal,
    emit: (e) => void (e.type === 'log' && logs.push(e.message)),
  };
  const running = serve({
    ctx,
    registry,
    graceMs: 0,
    jitterMs: 0,
    shutdownDeadlineMs: 5_000,
    staleCheckMs: 3_600_000,
    outboxIntervalMs: options.intervalMs,
    ops: { host: '127.0.0.1', port: 0 },
    started: async ({ ops }) => void (opsUrl = ops?.url),
    buildSinks: async () => ({ sinks: new Map([['hook', httpTestSink('hook', options.http.url)]]), unavailable: [{ name: 'pager', reason: 'PD_ROUTING_KEY is not set' }] }),
    announcer: { announce: async (runbook, startsAt) => ({ runbook: runbook.name, startsAt }), result: async () => undefined },
  });
  const health = async () => {
    if (opsUrl === undefined) return undefined;
    return (await (await fetch(`${opsUrl}/healthz`)).json()) as Record<string, unknown>;
  };
  return { stop: async () => (stop.abort(), await running), logs, health };
}

describe('serve delivers the outbox', () => {
  it('delivers what another process wrote within its tick, and says which sinks it has', async () => {
    const http = await startRecordingHttp();
    servers.push(http);
    const store = new MemoryStore();
    const served = await runServe({ store, http, schedule: false });
    try {
      const alert = alertOf('failed-run:app');
      await store.putAlert(alert, deliveriesFor({ alert, transition: 'raised', runbook: routes, clock: systemClock }));
      await http.waitFor((r) => r.pathname === '/hook');
      expect(received(http.requests, 'hook')).toEqual(['raised failed-run:app → 200']);
      // /healthz says which sinks serve delivers to and how many of their deliveries are still owed.
      const deadline = Date.now() + 5_000;
      let health = await served.health();
      while (health?.alertDeliveriesPending !== 0) {
        expect(Date.now() < deadline, `healthz: ${JSON.stringify(health)}`).toBe(true);
        await new Promise((r) => setTimeout(r, 100));
        health = await served.health();
      }
      expect(health).toMatchObject({ alertSinks: ['hook'], alertDeliveriesPending: 0 });
    } finally {
      await served.stop();
    }
    expect(served.logs).toContain('lifeboat serve: alert sinks: hook; not here: pager (PD_ROUTING_KEY is not set) — their deliveries wait for a process that has them');
    expect((await store.listDeliveries())[0]).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it("is woken by its own jobs' transitions: delivered at once, not on the next tick", async () => {
    const http = await startRecordingHttp();
    servers.push(http);
    const store = new MemoryStore();
    let wrote = 0;
    const served = await runServe({
      store,
      http,
      schedule: true,
      intervalMs: 600_000, // only a wake can deliver within the test
      job: async (ctx) => {
        if (wrote++ > 0) return;
        const alert = alertOf('verify-failed:app');
        await (await ctx.store()).putAlert(alert, deliveriesFor({ alert, transition: 'raised', runbook: routes, clock: systemClock }));
      },
    });
    try {
      await http.waitFor((r) => r.pathname === '/hook', { timeoutMs: 10_000 });
    } finally {
      await served.stop();
    }
    expect(received(http.requests, 'hook')).toEqual(['raised verify-failed:app → 200']);
  });
});
