/**
 * SIGTERM during the transfer stage (issue 5): uploads stall at the proxy, the
 * CLI gets SIGTERM while its run is in `transfer`, exits 130 with the run
 * `cancelled` and the packs kept in staging; once the network heals, the next
 * backup uploads them first, succeeds, and the repository checks clean.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureCliBuilt, repoRoot, runCli, TEST_KEYS_ENV } from '../../helpers/cli.js';
import { startFlakyProxy, type FlakyProxy } from '../../helpers/flaky-proxy.js';
import { startS3rver, type RunningS3rver } from '../../helpers/s3rver.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import { MiB, filesUnder, runsOf, s3Env, stageOf, writeRandomFile, writeS3Runbook } from './harness.js';

const tempDir = useTempDirs('pipeline-s3-cancel');
let server: RunningS3rver;
let proxy: FlakyProxy;

beforeAll(async () => {
  [server] = await Promise.all([startS3rver({ buckets: ['cancel'] }), ensureCliBuilt()]);
  proxy = await startFlakyProxy(server.endpoint);
});

afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
});

it('SIGTERM during transfer: exit 130, run cancelled, staging kept; the next backup uploads it and checks clean', async () => {
  const dir = await tempDir();
  const home = join(dir, 'home');
  await writeRandomFile(join(dir, 'data', 'a.bin'), 'cancel-a', 20 * MiB);
  const runbook = writeS3Runbook(dir, 'cancelxfer', { endpoint: proxy.endpoint, bucket: 'cancel', prefix: 'repo', source: 'data' });
  const env = s3Env(home, { ...TEST_KEYS_ENV });
  expect((await runCli(['init', runbook], { env })).code).toBe(0);

  // Data uploads hang: the run reaches the transfer stage and waits there.
  proxy.plan = (r) => (r.method === 'PUT' || r.method === 'POST') && r.url.includes('/data/') ? { type: 'stall' } : undefined;
  const child = spawn(process.execPath, [join(repoRoot, 'bin/lifeboat.js'), 'backup', runbook], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const run = (await runsOf(home, 'cancelxfer').catch(() => []))[0];
    if (run?.stages.some((s) => s.name === 'transfer' && s.status === 'running')) break;
    if (Date.now() > deadline) throw new Error(`the run never reached transfer; stderr: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGTERM');
  const started = Date.now();
  expect(await exited).toBe(130);
  expect(Date.now() - started).toBeLessThan(10_000);
  const [cancelled] = await runsOf(home, 'cancelxfer');
  expect(cancelled!.status).toBe('cancelled');
  expect(stageOf(cancelled!, 'transfer').status).not.toBe('succeeded');
  expect((await filesUnder(join(home, 'staging'))).length).toBeGreaterThan(0);

  // The network heals: the next backup uploads the leftovers first and succeeds.
  proxy.plan = () => undefined;
  const next = await runCli(['backup', runbook], { env });
  expect(next.code, next.stderr).toBe(0);
  expect(stageOf((await runsOf(home, 'cancelxfer'))[0]!, 'transfer').counters.leftoversAdopted).toBeGreaterThan(0);
  expect(await filesUnder(join(home, 'staging'))).toEqual([]);
  const check = await runCli(['check', runbook, '--read-data'], { env });
  expect(check.code, check.stderr).toBe(0);
}, 120_000);
