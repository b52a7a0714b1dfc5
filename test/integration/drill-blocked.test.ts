/**
 * A drill whose repository cannot be reached (S3 down) proves nothing either
 * way: it is `blocked`, with a warning alert `drill-blocked`, not a failed
 * validation with drill-failed's critical one (issue 16). When S3 is back, the
 * next drill comes back met and the warning resolves.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openJsonStore, type AlertRecord } from '../../src/core/store/index.js';
import { ensureCliBuilt, runCli } from '../helpers/cli.js';
import { drillsOf, runDrillCli } from '../helpers/drill-runbook.js';
import { startFlakyProxy, type FlakyProxy } from '../helpers/flaky-proxy.js';
import { startS3rver, type RunningS3rver } from '../helpers/s3rver.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { MiB, s3Env, writeRandomFile, writeS3Runbook } from './s3/harness.js';

const tempDir = useTempDirs('drill-blocked');
let server: RunningS3rver;
let proxy: FlakyProxy;

beforeAll(async () => {
  [server] = await Promise.all([startS3rver({ buckets: ['blocked'] }), ensureCliBuilt()]);
  proxy = await startFlakyProxy(server.endpoint);
});

afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
});

async function alertsOf(home: string, runbook: string): Promise<AlertRecord[]> {
  const store = await openJsonStore(home);
  try {
    return await store.listAlerts({ runbook });
  } finally {
    await store.close();
  }
}

describe('a drill that cannot reach its repository', () => {
  it('is blocked with a drill-blocked warning, not failed; the next drill with S3 back resolves it', async () => {
    const base = await tempDir();
    await writeRandomFile(join(base, 'data/a.bin'), 'blocked a', 2 * MiB);
    const home = join(base, 'home');
    const runbook = writeS3Runbook(base, 'blocked', { endpoint: proxy.endpoint, bucket: 'blocked', prefix: 'p', source: './data' });
    const env = s3Env(home, { LIFEBOAT_TRANSFER_RETRY_BUDGET: '2s' });
    expect((await runCli(['init', runbook], { env })).code).toBe(0);
    const backup = await runCli(['backup', runbook], { env });
    expect(backup.code, backup.stdout + backup.stderr).toBe(0);

    let down = true;
    proxy.plan = () => (down ? { type: 'status', status: 503, code: 'ServiceUnavailable' } : undefined);
    const blocked = await runDrillCli([runbook], env);
    expect(blocked.code, blocked.stdout + blocked.stderr).toBe(1);
    expect(blocked.drill.verdict).toBe('blocked');
    expect(blocked.drill.rtoMs).toBeUndefined();
    expect(blocked.drill.reason).toMatch(/^the repository could not be reached: /);
    console.log(`blocked: ${blocked.drill.reason}`);
    expect(blocked.summary).toContain('drill blocked: blocked snapshot');
    expect(blocked.summary).toContain('not restored: the repository could not be reached');
    expect((await drillsOf(home, 'blocked')).map((d) => d.verdict)).toEqual(['blocked']);

    const raised = await alertsOf(home, 'blocked');
    expect(raised.map((a) => a.key)).not.toContain('drill-failed:blocked');
    expect(raised.find((a) => a.key === 'drill-blocked:blocked')).toMatchObject({ status: 'open', severity: 'warning' });

    down = false;
    const met = await runDrillCli([runbook], env);
    expect(met.code, met.stdout + met.stderr).toBe(0);
    expect(met.drill.verdict).toBe('met');
    expect((await alertsOf(home, 'blocked')).find((a) => a.key === 'drill-blocked:blocked')).toMatchObject({ status: 'resolved' });
  });
});
