/**
 * The leader's lost-agent watch in a real `lifeboat serve` on a real
 * PostgreSQL (issue 19), with short thresholds from LIFEBOAT_AGENT_LOST_AFTER
 * and LIFEBOAT_AGENT_CHECK_INTERVAL: an agent that beat while running a backup
 * and then fell silent has that run recorded failed "agent lost on web-01",
 * `agent-down:web-01` open and lifeboat_agent_up at 0; its next beat resolves
 * the alert and sets the gauge to 1. The beats are written as an agent writes
 * them (HostRegistry.heartbeat), so only serve's side is under test here.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HostRegistry, type HostBeat } from '../../src/core/fleet/hosts.js';
import { openPostgresStore } from '../../src/core/store/postgres/postgres-store.js';
import { skipWithoutTool } from '../helpers/required-tool.js';
import { spawnServe } from '../helpers/serve-process.js';
import { useLifeboatPostgres } from '../helpers/serve-postgres.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { run } from '../core/store/helpers/records.js';

const tempDir = useTempDirs('serve-lost-agent');
const pg = useLifeboatPostgres(tempDir);

const beat: HostBeat = { name: 'web-01', version: '0.1.0', platform: 'linux x64', pid: 4100, runningJob: { jobId: 'j-1', runbook: 'app-data', kind: 'backup', runId: 'r-remote' } };

describe('serve watches the fleet’s agents', () => {
  it('a silent agent: its running run failed "agent lost on web-01", agent-down raised, lifeboat_agent_up 0; its next beat resolves it', async (ctx) => {
    if (!pg.availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', pg.availability);
    const dir = await tempDir();
    await mkdir(join(dir, 'runbooks'));
    await writeFile(
      join(dir, 'runbooks', 'app-data.yaml'),
      [
        'name: app-data',
        'host: web-01',
        'sources: [{ name: data, path: /srv/data }]',
        'repository: { hot: { url: "file:///var/backups/app-data" }, password: { env: LIFEBOAT_PASSWORD } }',
        'objectives: { rpo: 26h, rto: 5m }',
        '',
      ].join('\n'),
    );
    const url = pg.url();
    const served = pg.track(
      spawnServe({
        cwd: dir,
        args: ['--metrics-port', '0'],
        env: { LIFEBOAT_HOME: join(dir, 'home'), LIFEBOAT_RUNBOOKS: join(dir, 'runbooks'), LIFEBOAT_STORE_URL: url, LIFEBOAT_AGENT_LOST_AFTER: '2s', LIFEBOAT_AGENT_CHECK_INTERVAL: '200ms' },
      }),
    );
    const metricsUrl = (await served.waitFor(/metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/, 30_000))[1]!;
    await served.waitFor(/scheduler running/, 30_000);

    // serve migrated the store at its start: the agent's side can write now.
    const store = await openPostgresStore(url);
    try {
      const hosts = new HostRegistry(store.pool);
      await store.putRun(run('r-remote', { runbook: 'app-data', status: 'running', host: 'web-01', startedAt: new Date().toISOString(), stages: [] }));
      await hosts.heartbeat(beat);
      const agentUp = async () => /^lifeboat_agent_up\{host="web-01"\} (\d)$/m.exec(await (await fetch(`${metricsUrl}/metrics`)).text())?.[1];
      await expect.poll(agentUp, { timeout: 10_000, interval: 200 }).toBe('1');

      // Silence: no more beats.
      await expect.poll(async () => (await store.getRun('r-remote'))?.status, { timeout: 20_000, interval: 200 }).toBe('failed');
      expect((await store.getRun('r-remote'))?.error).toEqual({ code: 'AGENT_LOST', message: 'agent lost on web-01' });
      await expect.poll(async () => (await store.getAlert('agent-down:web-01'))?.status, { timeout: 10_000, interval: 200 }).toBe('open');
      expect(await agentUp()).toBe('0');
      // serve's line reaches this process through a pipe, so it may arrive after the store shows the alert.
      await served.waitFor(/lifeboat serve: the agent on web-01 is lost/, 10_000);

      await hosts.heartbeat({ ...beat, runningJob: null });
      await expect.poll(async () => (await store.getAlert('agent-down:web-01'))?.status, { timeout: 10_000, interval: 200 }).toBe('resolved');
      expect(await agentUp()).toBe('1');
    } finally {
      await store.close();
    }
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
  }, 90_000);
});
