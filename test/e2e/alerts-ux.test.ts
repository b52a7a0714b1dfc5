/**
 * Alert UX through the real CLI (issue 17, item 5):
 * - a `resume` that uploads what a transfer-pending backup staged resolves the
 *   transfer-pending alert (it used to stay open until the next backup);
 * - hints name the runbook (`lifeboat resume orders`), in the stage error and
 *   in the alert;
 * - one message, printed once: a failing backup's error and a transfer-pending
 *   run's transfer error each appear once on stderr (they appeared 3–4 times);
 * - tables fit COLUMNS, and piped without COLUMNS they keep every character.
 *
 * The S3 repository is s3rver behind a proxy that answers 503 while "down".
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt, runCli, writeRunbook } from '../helpers/cli.js';
import { startFlakyProxy, type FlakyProxy } from '../helpers/flaky-proxy.js';
import { startS3rver, type RunningS3rver } from '../helpers/s3rver.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { MiB, runsOf, s3Env, writeRandomFile, writeS3Runbook } from '../integration/s3/harness.js';

const tempDir = useTempDirs('alerts-ux');
let server: RunningS3rver;
let proxy: FlakyProxy;

beforeAll(async () => {
  [server] = await Promise.all([startS3rver({ buckets: ['ux-orders'] }), ensureCliBuilt()]);
  proxy = await startFlakyProxy(server.endpoint);
});

afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
});

interface AlertJson {
  key: string;
  status: string;
  severity: string;
  message: string;
}

async function alertsOf(env: Record<string, string>): Promise<AlertJson[]> {
  const res = await runCli(['alerts', '--all', '--json'], { env });
  expect(res.code, res.stderr).toBe(0);
  return (JSON.parse(res.stdout) as { data: AlertJson[] }).data;
}

function occurrences(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

describe('a transfer-pending backup, then resume', () => {
  it('says the transfer error once, names the runbook in its hints, and resume resolves the alert', async () => {
    const base = await tempDir();
    await writeRandomFile(join(base, 'data', 'a.bin'), 'ux a', 1 * MiB + 5);
    const runbook = writeS3Runbook(base, 'orders', { endpoint: proxy.endpoint, bucket: 'ux-orders', prefix: 'p', source: './data' });
    const env = s3Env(join(base, 'home'), { LIFEBOAT_TRANSFER_RETRY_BUDGET: '1s' });
    expect((await runCli(['init', runbook], { env })).code).toBe(0);

    let down = true;
    proxy.plan = () => (down ? { type: 'status', status: 503, code: 'ServiceUnavailable' } : undefined);
    const pending = await runCli(['backup', runbook], { env });
    expect(pending.code, pending.stderr).toBe(4);
    const output = pending.stdout + pending.stderr;
    // The transfer error (it names the staging folder) is printed once: as the stage that failed.
    expect(occurrences(output, 'is not reachable ('), output).toBe(1);
    expect(occurrences(output, 'are safe in staging at'), output).toBe(1);
    // Its hint, and the alert's, name the runbook; no hint leaves it out or writes a placeholder.
    expect(output).toContain('run `lifeboat resume orders` when it is back');
    expect(output).toMatch(/^ALERT \[warning\] failed-run:orders: backup is transfer-pending: \d+ objects? \(.+\) safe in local staging, not yet in s3:\/\/ux-orders\/p, which was not reachable; `lifeboat resume orders` uploads (it|them)$/m);
    expect(output).not.toContain('<runbook>');
    expect(output).not.toContain('`lifeboat resume`');
    // The summary is the last word of the command; the alert follows it.
    expect(pending.stderr.trimEnd().split('\n').slice(-2)[0]).toMatch(/^lifeboat: transfer-pending orders: snapshot [0-9a-f]{8}/);

    const open = (await alertsOf(env)).find((a) => a.key === 'failed-run:orders');
    expect(open).toMatchObject({ status: 'open', severity: 'warning' });
    expect(open!.message).toContain('`lifeboat resume orders`');

    // S3 is back: resume uploads, the run succeeds, the alert rules run and see it.
    down = false;
    const resume = await runCli(['resume', runbook], { env });
    expect(resume.code, resume.stdout + resume.stderr).toBe(0);
    expect(resume.stdout).toMatch(/1 transfer-pending run\(s\) completed/);
    expect(resume.stderr).toContain('RESOLVED failed-run:orders (was warning)');
    const [run] = await runsOf(join(base, 'home'), 'orders');
    expect(run!.status).toBe('succeeded');
    expect((await alertsOf(env)).find((a) => a.key === 'failed-run:orders')).toMatchObject({ status: 'resolved' });
  });

  it('a resume while S3 is still down leaves the alert open', async () => {
    const base = await tempDir();
    await writeRandomFile(join(base, 'data', 'a.bin'), 'ux b', 300 * 1024);
    const runbook = writeS3Runbook(base, 'books', { endpoint: proxy.endpoint, bucket: 'ux-orders', prefix: 'books', source: './data' });
    const env = s3Env(join(base, 'home'), { LIFEBOAT_TRANSFER_RETRY_BUDGET: '1s' });
    proxy.plan = () => undefined;
    expect((await runCli(['init', runbook], { env })).code).toBe(0);
    proxy.plan = () => ({ type: 'status', status: 503, code: 'ServiceUnavailable' });
    try {
      expect((await runCli(['backup', runbook], { env })).code).toBe(4);
      const resume = await runCli(['resume', runbook], { env });
      expect(resume.code, resume.stderr).toBe(4);
      expect(resume.stderr).not.toContain('RESOLVED');
      expect((await alertsOf(env)).find((a) => a.key === 'failed-run:books')).toMatchObject({ status: 'open' });
    } finally {
      proxy.plan = () => undefined;
    }
  });
});

describe('a failing backup', () => {
  it('prints its error once; the summary and the ALERT line point back at it', async () => {
    const base = await tempDir();
    const runbook = writeRunbook(base, 'ledger', { source: join(base, 'no-such-folder'), repo: join(base, 'repo') });
    const env = { LIFEBOAT_HOME: join(base, 'home'), LIFEBOAT_PASSWORD: 'ux tests' };
    // Before init, the hint names the runbook to init.
    const early = await runCli(['snapshots', runbook], { env });
    expect(early.code).toBe(1);
    expect(early.stderr).toContain('(run `lifeboat init ledger` first)');
    expect((await runCli(['init', runbook], { env })).code).toBe(0);
    const failed = await runCli(['backup', runbook], { env });
    expect(failed.code).toBe(1);
    const output = failed.stdout + failed.stderr;
    expect(occurrences(output, 'no-such-folder'), output).toBe(1);
    expect(failed.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^discover failed: every source failed: source data: ENOENT: .*no-such-folder'$/),
      'lifeboat: backup failed (exit 1): see above',
      'ALERT [critical] failed-run:ledger: backup failed in stage discover: see above (SOURCE_FAILED)',
    ]);
    // The store keeps the whole message: `lifeboat alerts` shows it.
    const [alert] = await alertsOf(env);
    expect(alert!.message).toContain('no-such-folder');

    // With --quiet no stage line is printed: the summary says it, once.
    const quiet = await runCli(['backup', runbook, '--quiet'], { env });
    expect(quiet.code).toBe(1);
    expect(occurrences(quiet.stdout + quiet.stderr, 'no-such-folder'), quiet.stderr).toBe(1);
    expect(quiet.stderr).toMatch(/^lifeboat: every source failed: source data: ENOENT/m);
  });
});

describe('the alerts table', () => {
  it('fits COLUMNS=80 with the message cut by "…"; piped without COLUMNS it is printed in full', async () => {
    const base = await tempDir();
    const runbook = writeRunbook(base, 'wide', { source: join(base, 'a-folder-whose-name-makes-the-alert-message-long', 'and-longer-still'), repo: join(base, 'repo') });
    const env = { LIFEBOAT_HOME: join(base, 'home'), LIFEBOAT_PASSWORD: 'ux tests' };
    expect((await runCli(['init', runbook], { env })).code).toBe(0);
    expect((await runCli(['backup', runbook], { env })).code).toBe(1);

    const full = await runCli(['alerts'], { env });
    expect(full.code).toBe(0);
    const [message] = (await alertsOf(env)).map((a) => a.message);
    expect(full.stdout).toContain(message);
    expect(Math.max(...full.stdout.split('\n').map((l) => l.length))).toBeGreaterThan(80);

    const narrow = await runCli(['alerts'], { env: { ...env, COLUMNS: '80' } });
    expect(narrow.code).toBe(0);
    const lines = narrow.stdout.trimEnd().split('\n');
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(lines[1]).toMatch(/^CRITICAL {2}failed-run:wide {2}backup failed in stage .*… {2}/);
    expect(lines[1]).toMatch(/just now|ago/);
  });
});
