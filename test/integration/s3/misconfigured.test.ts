/**
 * A wrong bucket name and wrong credentials, through the CLI (issue 4, "Must
 * show" 4): one clear line on stderr naming the bucket and what to check,
 * exit 1, and fast — a permanent error is not retried, so the run neither
 * waits out a retry budget nor sends a storm of requests. The requests are
 * counted at a (well-behaved) proxy in front of s3rver.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureCliBuilt, runCli, type CliResult } from '../../helpers/cli.js';
import { startFlakyProxy, type FlakyProxy } from '../../helpers/flaky-proxy.js';
import { startS3rver, type RunningS3rver } from '../../helpers/s3rver.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import { filesUnder, runsOf, s3Env, writeRandomFile, writeS3Runbook } from './harness.js';

const tempDir = useTempDirs('pipeline-s3-misconfigured');
let server: RunningS3rver;
let proxy: FlakyProxy;
let base: string;
/** A runbook whose repository exists and has one snapshot, and the state folder that made it. */
let good: { runbook: string; home: string };

const WRONG_SECRET = 'not-the-secret-0123456789';
const WRONG_KEY_ID = 'AKIAWRONGWRONGWRONG';
/** A retry budget far above the limits below: if anything retried, the timing would show it. */
const budget = { LIFEBOAT_TRANSFER_RETRY_BUDGET: '30s' };

beforeAll(async () => {
  [server] = await Promise.all([startS3rver({ buckets: ['real-bucket'] }), ensureCliBuilt()]);
  proxy = await startFlakyProxy(server.endpoint);
  base = await tempDir();
  await writeRandomFile(join(base, 'data/file.bin'), 'file', 256 * 1024);
  const home = join(base, 'home');
  const runbook = writeS3Runbook(base, 'goodbook', { endpoint: proxy.endpoint, bucket: 'real-bucket', prefix: 'repo', source: './data' });
  expect((await runCli(['init', runbook], { env: s3Env(home) })).code).toBe(0);
  expect((await runCli(['backup', runbook], { env: s3Env(home) })).code).toBe(0);
  good = { runbook, home };
});

afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
});

beforeEach(() => proxy.resetStats());

/** Runs the CLI. (No wall-time bound: "no retries" is proven by the request count, which load cannot change.) */
async function cli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return runCli(args, { env });
}

/**
 * Exit 1, exactly one error line on stderr (no retry lines, nothing else), few
 * requests. A failed backup also raises the failed-run alert, which the CLI prints
 * after it as `ALERT [critical] failed-run:<runbook>: backup failed: see above (CODE)`:
 * the message is printed once (issue 17), the alert points back at it.
 */
function expectOneClearFailure(result: CliResult, says: RegExp[]): string {
  expect(result.code, result.stdout + result.stderr).toBe(1);
  const all = result.stderr.split('\n').filter((l) => l.trim() !== '');
  const lines = all.filter((l) => !l.startsWith('ALERT ['));
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^lifeboat: /);
  for (const pattern of says) expect(lines[0]).toMatch(pattern);
  for (const alert of all.filter((l) => l.startsWith('ALERT ['))) expect(alert).toMatch(/^ALERT \[critical\] failed-run:[a-z-]+: backup failed: see above \([A-Z_]+\)$/);
  expect(proxy.stats.requests, 'requests sent to the store').toBeLessThanOrEqual(3);
  return lines[0]!;
}

describe('a wrong bucket name', () => {
  const says = [/bucket "no-such-bucket" does not exist/, /check the bucket name/];

  it('backup: one line naming the bucket, exit 1, no retries; the run is recorded failed', async () => {
    const runbook = writeS3Runbook(base, 'wrongbucket', { endpoint: proxy.endpoint, bucket: 'no-such-bucket', prefix: 'repo', source: './data' });
    const home = join(base, 'home-wrong-bucket');
    const result = await cli(['backup', runbook], s3Env(home, budget));
    expectOneClearFailure(result, says);
    const [run] = await runsOf(home, 'wrongbucket');
    expect(run!.status).toBe('failed');
    expect(run!.error?.code).toBe('BACKEND_NOT_FOUND');
    expect(run!.error?.message).toMatch(says[0]!);
    expect(await filesUnder(join(home, 'staging'))).toEqual([]);
  });

  it('snapshots and restore: the same line, exit 1, no retries', async () => {
    const runbook = writeS3Runbook(base, 'wrongbucket', { endpoint: proxy.endpoint, bucket: 'no-such-bucket', prefix: 'repo', source: './data' });
    expectOneClearFailure(await cli(['snapshots', runbook], s3Env(join(base, 'home-wb-2'), budget)), says);
    proxy.resetStats();
    expectOneClearFailure(await cli(['restore', runbook, '--target', join(base, 'wb-restore')], s3Env(join(base, 'home-wb-3'), budget)), says);
  });
});

describe('wrong credentials', () => {
  const says = [/access denied to bucket "real-bucket"/, /check the AWS credentials/];
  const wrongKeyId = (home: string) => s3Env(home, { ...budget, AWS_ACCESS_KEY_ID: WRONG_KEY_ID });

  it('backup with a warm metadata cache (a key rotated after good runs): one line, exit 1, no retries; the run is recorded failed', async () => {
    const result = await cli(['backup', good.runbook], wrongKeyId(good.home));
    expectOneClearFailure(result, [...says, /InvalidAccessKeyId/]);
    const [run] = await runsOf(good.home, 'goodbook');
    expect(run!.status).toBe('failed');
    expect(run!.error?.code).toBe('BACKEND_PERMISSION');
    // Nothing was staged for a destination that refuses us.
    expect(await filesUnder(join(good.home, 'staging'))).toEqual([]);
  });

  it('a wrong secret key (S3 answers 403 SignatureDoesNotMatch): one line, exit 1, no retries, the secret never shown', async () => {
    // s3rver checks the access key id but not SigV4 signatures: answer as S3 does for a wrong secret.
    proxy.plan = () => ({ type: 'status', status: 403, code: 'SignatureDoesNotMatch' });
    try {
      const result = await cli(['backup', good.runbook], s3Env(good.home, { ...budget, AWS_SECRET_ACCESS_KEY: WRONG_SECRET }));
      const line = expectOneClearFailure(result, says);
      expect(line).toMatch(/SignatureDoesNotMatch|HTTP 403/);
      expect(result.stdout + result.stderr).not.toContain(WRONG_SECRET);
      const [run] = await runsOf(good.home, 'goodbook');
      expect(run!.status).toBe('failed');
      expect(JSON.stringify(run)).not.toContain(WRONG_SECRET);
    } finally {
      proxy.plan = () => undefined;
    }
  });

  it('an unknown access key id on init and snapshots (fresh state folder): the same line, exit 1, no retries', async () => {
    const runbook = writeS3Runbook(base, 'newrepo', { endpoint: proxy.endpoint, bucket: 'real-bucket', prefix: 'other', source: './data' });
    expectOneClearFailure(await cli(['init', runbook], wrongKeyId(join(base, 'home-c1'))), says);
    proxy.resetStats();
    expectOneClearFailure(await cli(['snapshots', good.runbook], wrongKeyId(join(base, 'home-c2'))), says);
  });
});
