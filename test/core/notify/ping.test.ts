/**
 * The dead man's switch through the real CLI: a runbook's `alerts.ping.url`
 * hears `/start` then success for a good backup and a drill, `/start` then
 * `/fail` for a failing backup, each with the status and run id; a ping
 * service that is down never fails the backup (a warning says so, naming
 * only the host: the URL is the check's credential).
 */
import { appendFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pingUrl } from '../../../src/core/notify/ping.js';
import { ensureCliBuilt, runCli, writeRunbook } from '../../helpers/cli.js';
import { startRecordingHttp, type RecordingHttpServer } from '../../helpers/recording-http.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('ping');
let server: RecordingHttpServer | undefined;
beforeAll(() => ensureCliBuilt());
afterEach(async () => server?.close());

/** A runbook `app` with a ping URL by reference, initialised; returns the CLI environment and the runbook file. */
async function pingedRunbook(pingUrlValue: string) {
  const base = await tempDir();
  const source = join(base, 'data');
  await mkdir(source);
  await writeFile(join(source, 'a.txt'), 'some data\n');
  const file = writeRunbook(base, 'app', { source, repo: join(base, 'repo') });
  await appendFile(file, 'alerts: { ping: { url: { env: HC_PING_URL } } }\n');
  // Retries 20 ms apart instead of 1 s: the down and 500 cases try each ping three times.
  const env = { LIFEBOAT_HOME: join(base, 'home'), LIFEBOAT_PASSWORD: 'ping test password', HC_PING_URL: pingUrlValue, LIFEBOAT_TEST_PING_RETRY_DELAY: '20ms' };
  const init = await runCli(['init', file], { env });
  expect(init.code, init.stderr).toBe(0);
  return { env, file, source };
}

const pings = (s: RecordingHttpServer) => s.requests.map((r) => `${r.method} ${r.path} ${r.body.trim().replace(/^(\w+) \S+ /, '$1 <id> ')}`);

describe("dead man's switch", () => {
  it('adds /start and /fail to the path, keeping a query', () => {
    expect(pingUrl('https://hc-ping.com/abc/', '/start')).toBe('https://hc-ping.com/abc/start');
    expect(pingUrl('https://hc.example.com/ping/key/slug?create=1', '/fail')).toBe('https://hc.example.com/ping/key/slug/fail?create=1');
    expect(pingUrl('https://hc-ping.com/abc', '')).toBe('https://hc-ping.com/abc');
  });

  it('a good backup pings start then success, a drill too; a failing backup pings start then fail', async () => {
    server = await startRecordingHttp();
    const { env, file, source } = await pingedRunbook(`${server.url}/ping/0b9d`);

    const good = await runCli(['backup', file], { env });
    expect(good.code, good.stderr).toBe(0);
    await server.waitFor((r) => r.path === '/ping/0b9d', { timeoutMs: 5000 });
    expect(pings(server)).toEqual(['POST /ping/0b9d/start backup <id> started', 'POST /ping/0b9d backup <id> succeeded']);
    const runId = /backup (\S+) started/.exec(server.requests[0]?.body ?? '')?.[1];
    expect(server.requests[1]?.body).toBe(`backup ${runId} succeeded\n`);

    const drill = await runCli(['restore-drill', file], { env });
    expect(drill.code, drill.stderr).toBe(0);
    expect(pings(server).slice(2)).toEqual(['POST /ping/0b9d/start drill <id> started', 'POST /ping/0b9d drill <id> succeeded']);

    await rm(source, { recursive: true });
    const bad = await runCli(['backup', file], { env });
    expect(bad.code).not.toBe(0);
    expect(pings(server).slice(4)).toEqual(['POST /ping/0b9d/start backup <id> started', expect.stringMatching(/^POST \/ping\/0b9d\/fail backup <id> (failed|partial)$/)]);
  });

  it('a ping service that is down or answers 500 does not fail the backup; the warning names the host only', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    const { env, file } = await pingedRunbook(`http://127.0.0.1:${port}/ping/secret-uuid-0b9d`);
    const res = await runCli(['backup', file], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain(`dead man's switch of app: ping start to 127.0.0.1:${port} failed 3 times`);
    expect(res.stderr).toContain('the run goes on');
    expect(res.stderr).not.toContain('secret-uuid');

    server = await startRecordingHttp();
    server.behave('*', { status: 500 });
    const flaky = await runCli(['backup', file], { env: { ...env, HC_PING_URL: `${server.url}/p` } });
    expect(flaky.code, flaky.stderr).toBe(0);
    // Each ping tried three times, in order: start before the result.
    expect(server.requests.map((r) => r.path)).toEqual(['/p/start', '/p/start', '/p/start', '/p', '/p', '/p']);
  });
});
