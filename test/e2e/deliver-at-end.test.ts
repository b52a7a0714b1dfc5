/**
 * A CLI command delivers the alerts it raised at its end, with no serve
 * running (issue 17): the real CLI, a lifeboat.yaml with a webhook sink
 * pointed at a recording HTTP server on loopback, a backup that fails.
 * - sink up: the webhook has the alert by the time the command has exited;
 * - sink answering 500: one warning line, the exit code unchanged, the
 *   delivery left pending with its error for serve or the next command, which
 *   sends it once the sink is back.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { openJsonStore } from '../../src/core/store/json-store.js';
import { ensureCliBuilt, runCli } from '../helpers/cli.js';
import { startRecordingHttp, type RecordingHttpServer } from '../helpers/recording-http.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('deliver-at-end');
const servers: RecordingHttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
beforeAll(async () => {
  await ensureCliBuilt();
}, 120_000);

/** A runbook whose source folder does not exist (its backup fails: failed-run, critical), routed to the webhook `hook`. */
async function place(hookUrl: string) {
  const dir = await tempDir();
  const runbooks = join(dir, 'runbooks');
  await mkdir(runbooks);
  await writeFile(
    join(runbooks, 'ledger.yaml'),
    stringify({
      name: 'ledger',
      owner: '@lifeboat-tests',
      sources: [{ name: 'data', path: join(dir, 'missing') }],
      repository: { hot: { url: `file://${join(dir, 'repo')}` }, password: { env: 'LIFEBOAT_PASSWORD' } },
      objectives: { rpo: '26h', rto: '5m' },
      alerts: { notify: ['hook'] },
    }),
  );
  await writeFile(join(dir, 'lifeboat.yaml'), stringify({ notify: { hook: { type: 'webhook', url: `${hookUrl}/lifeboat`, secret: { env: 'HOOK_SECRET' } } } }));
  const env = { LIFEBOAT_HOME: join(dir, 'home'), LIFEBOAT_RUNBOOKS: runbooks, LIFEBOAT_PASSWORD: 'deliver at end', HOOK_SECRET: 'hook-secret-for-tests' };
  const init = await runCli(['init', 'ledger'], { env, cwd: dir });
  expect(init.code, init.stderr).toBe(0);
  return { dir, env, home: join(dir, 'home') };
}

const alertCalls = (hook: RecordingHttpServer) => hook.requests.filter((r) => r.pathname === '/lifeboat' && r.body.includes('failed-run:ledger'));

describe('a CLI command delivers at its end', () => {
  it('the failed backup\'s alert reaches the webhook before the command exits, with no serve running', async () => {
    const hook = await startRecordingHttp();
    servers.push(hook);
    const p = await place(hook.url);
    const failed = await runCli(['backup', 'ledger'], { env: p.env, cwd: p.dir });
    expect(failed.code, failed.stderr).toBe(1);
    expect(alertCalls(hook)).toHaveLength(1);
    expect(failed.stderr).not.toMatch(/alert deliveries not sent/);
    const store = await openJsonStore(p.home);
    expect((await store.listDeliveries()).map((d) => `${d.sink} ${d.transition} ${d.status}`)).toEqual(['hook raised delivered']);
    await store.close();
  });

  it('a sink answering 500: one warning line, the same exit code, and the delivery waits; the next command sends it', async () => {
    const hook = await startRecordingHttp();
    servers.push(hook);
    hook.behave('/lifeboat', { status: 500 });
    const p = await place(hook.url);
    const failed = await runCli(['backup', 'ledger'], { env: p.env, cwd: p.dir });
    expect(failed.code, failed.stderr).toBe(1);
    const warnings = failed.stderr.split('\n').filter((l) => l.includes('alert deliveries not sent'));
    // The sink's own words (its name, its host, the status), then when it is tried again.
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^lifeboat: alert deliveries not sent \(1 to retry\): raised of failed-run:ledger: .*"hook".*500.* \(attempt 1; next at \S+\); see `lifeboat alerts --deliveries`$/);
    expect(warnings[0]).toContain(new URL(hook.url).host);
    expect(failed.stderr).not.toContain('hook-secret-for-tests');

    const shown = await runCli(['alerts', '--deliveries', '--json'], { env: p.env, cwd: p.dir });
    expect(shown.code, shown.stderr).toBe(0);
    const [pending] = JSON.parse(shown.stdout).data as { status: string; attempts: number; lastError: string }[];
    expect(pending).toMatchObject({ status: 'pending', attempts: 1, lastError: expect.stringContaining('HTTP 500') });

    // Back up; the retry falls due 4–6 s later; a later command (any) delivers it.
    hook.behave('/lifeboat');
    const deadline = Date.now() + 20_000;
    while (alertCalls(hook).filter((r) => r.answered === 200).length === 0) {
      expect(Date.now() < deadline, 'the pending delivery was not sent by a later command within 20 s').toBe(true);
      await runCli(['alerts'], { env: p.env, cwd: p.dir });
    }
    expect(alertCalls(hook).map((r) => r.answered)).toEqual([500, 200]);
  });
});
