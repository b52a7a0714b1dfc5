/**
 * Issue 23's copies, end to end through the CLI: a runbook with a local hot
 * repository and two S3 copies on two s3rver servers with different
 * credentials (each copy's own keys, no AWS_* in the environment). Backups
 * fill both; the vault's server answering 503 makes the run partial with a
 * copy-failed alert while hot and the other copy are whole; healed, the next
 * run catches up; both copies restore byte-identically and pass check; a
 * drill of a copy records its RTO as the copy's; and a backup SIGKILLed while
 * it copies is completed by the next run with nothing doubled or lost.
 *
 * The order of the tests is the story: each one starts from where the last
 * one left the repositories.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { openBackend } from '../../../src/core/backends/open-backend.js';
import { Repository } from '../../../src/core/repo/repository.js';
import type { StatusEntry } from '../../../src/core/status/runbook-status.js';
import { openJsonStore, type RunRecord } from '../../../src/core/store/index.js';
import type { ColdSnapshot } from '../../../src/core/tier/copy.js';
import { ensureCliBuilt, repoRoot, runCli, TEST_KEYS_ENV } from '../../helpers/cli.js';
import { startFlakyProxy, type FlakyProxy } from '../../helpers/flaky-proxy.js';
import { expectSameManifest, manifestOf } from '../../helpers/fs-manifest.js';
import { s3rverCredentials, startS3rver, type RunningS3rver } from '../../helpers/s3rver.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import { keystream, runsOf, stageOf } from '../../integration/s3/harness.js';

// s3rver checks that an access key id is known (not SigV4 signatures): the vault's keys are another account's.
const require = createRequire(import.meta.url);
const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account.js') as { DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void; revokeAccessKey(id: string): void } };
const vaultCredentials = { accessKeyId: 'VAULT-BACKUP-WRITER', secretAccessKey: 'vault secret key' };

const PASSWORD = 'copies test hot password';
const VAULT_PASSWORD = 'copies test vault password';

const tempDir = useTempDirs('copies');
let offsiteServer: RunningS3rver;
let vaultServer: RunningS3rver;
/** In front of the vault: heals and breaks the vault's network on demand. */
let vaultProxy: FlakyProxy;
let base: string;
let source: string;
let runbookFile: string;
let env: Record<string, string>;

const offsite = () => ({ endpoint: offsiteServer.endpoint, url: 's3://offsite-a/app', credentials: { ...s3rverCredentials } as { accessKeyId: string; secretAccessKey: string }, password: PASSWORD });
const vault = () => ({ endpoint: vaultServer.endpoint, url: 's3://vault-b/app', credentials: vaultCredentials, password: VAULT_PASSWORD });
type CopyWhere = ReturnType<typeof offsite>;

beforeAll(async () => {
  await ensureCliBuilt();
  DUMMY_ACCOUNT.createKeyPair(vaultCredentials.accessKeyId, vaultCredentials.secretAccessKey);
  [offsiteServer, vaultServer] = await Promise.all([startS3rver({ buckets: ['offsite-a'] }), startS3rver({ buckets: ['vault-b'] })]);
  vaultProxy = await startFlakyProxy(vaultServer.endpoint);
  base = await tempDir();
  source = join(base, 'source');
  await mkdir(join(source, 'docs'), { recursive: true });
  await writeFile(join(source, 'docs', 'a.bin'), keystream('a', 300 * 1024));
  await writeFile(join(source, 'notes.txt'), 'first\n');
  await mkdir(join(base, 'runbooks'));
  runbookFile = join(base, 'runbooks', 'app.yaml');
  await writeFile(
    runbookFile,
    stringify({
      name: 'app',
      sources: [{ name: 'data', path: source }],
      repository: {
        hot: { url: `file://${join(base, 'hot')}` },
        password: { env: 'LIFEBOAT_PASSWORD' },
        copies: [
          {
            name: 'offsite',
            url: 's3://offsite-a/app',
            endpoint: offsiteServer.endpoint,
            pathStyle: true,
            region: 'us-east-1',
            credentials: { accessKeyId: { env: 'OFFSITE_KEY_ID' }, secretAccessKey: { env: 'OFFSITE_SECRET' } },
          },
          {
            name: 'vault',
            url: 's3://vault-b/app',
            endpoint: vaultProxy.endpoint,
            pathStyle: true,
            region: 'us-east-1',
            password: { env: 'VAULT_PASSWORD' },
            credentials: { accessKeyId: { env: 'VAULT_KEY_ID' }, secretAccessKey: { env: 'VAULT_SECRET' } },
            keep: { last: 3 },
          },
          // A folder, filled only by `lifeboat copy` (schedule.copy), never by a backup.
          { name: 'usb', url: `file://${join(base, 'usb')}`, after: 'hot' },
        ],
      },
      schedule: { backup: '0 2 * * *', copy: '0 6 * * *' },
      objectives: { rpo: '26h', rto: '15m' },
    }),
  );
  env = {
    LIFEBOAT_HOME: join(base, 'home'),
    LIFEBOAT_RUNBOOKS: join(base, 'runbooks'),
    LIFEBOAT_PASSWORD: PASSWORD,
    VAULT_PASSWORD,
    OFFSITE_KEY_ID: s3rverCredentials.accessKeyId,
    OFFSITE_SECRET: s3rverCredentials.secretAccessKey,
    VAULT_KEY_ID: vaultCredentials.accessKeyId,
    VAULT_SECRET: vaultCredentials.secretAccessKey,
    // A copy that is down is given up on after 1 s of retries, not the production budget.
    LIFEBOAT_TRANSFER_RETRY_BUDGET: '1s',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const init = await runCli(['init', runbookFile], { env });
  expect(init.code, init.stdout + init.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  DUMMY_ACCOUNT.revokeAccessKey(vaultCredentials.accessKeyId);
  await vaultProxy?.stop();
  await Promise.all([offsiteServer?.stop(), vaultServer?.stop()]);
});

/** A copy straight from its s3rver, past staging and caches, with the copy's own keys and password. */
async function openCopy(where: CopyWhere): Promise<Repository> {
  const backend = await openBackend(where.url, { location: { endpoint: where.endpoint, pathStyle: true, region: 'us-east-1' }, s3: { credentials: { ...where.credentials } } });
  const repo = await Repository.open(backend, where.password);
  await repo.loadIndex();
  return repo;
}

async function hotSnapshots(): Promise<string[]> {
  const backend = await openBackend(`file://${join(base, 'hot')}`);
  const repo = await Repository.open(backend, PASSWORD);
  return (await repo.listSnapshots()).map((s) => s.id).sort();
}

/** Hot's newest `n` snapshots (what the vault's `keep: { last: 3 }` holds), ids sorted. */
async function newestHot(n: number): Promise<string[]> {
  const backend = await openBackend(`file://${join(base, 'hot')}`);
  const repo = await Repository.open(backend, PASSWORD);
  const snaps = (await repo.listSnapshots()).sort((a, b) => a.time.localeCompare(b.time));
  return snaps.slice(-n).map((s) => s.id).sort();
}

/** The hot snapshots a copy holds copies of; fails on a hot snapshot copied twice. */
async function copiedFrom(where: CopyWhere): Promise<string[]> {
  const snaps = (await (await openCopy(where)).listSnapshots()) as ColdSnapshot[];
  const origins = snaps.map((s) => s.copiedFrom?.snapshot ?? `not a copy: ${s.id}`).sort();
  expect(new Set(origins).size, `a hot snapshot copied twice into ${where.url}`).toBe(origins.length);
  return origins;
}

async function backup(): Promise<{ code: number | null; run: RunRecord; out: string }> {
  const res = await runCli(['backup', runbookFile], { env });
  const [run] = (await runsOf(env.LIFEBOAT_HOME!, 'app')).filter((r) => r.kind === 'backup');
  return { code: res.code, run: run!, out: res.stdout + res.stderr };
}

async function openAlerts(): Promise<string[]> {
  const store = await openJsonStore(env.LIFEBOAT_HOME!);
  try {
    return (await store.listAlerts({ status: 'open' })).map((a) => a.key).sort();
  } finally {
    await store.close();
  }
}

/** A runbook whose hot repository is the copy, so `restore` and `check` read the copy as an operator would. */
async function copyViewRunbook(name: string, where: CopyWhere): Promise<{ file: string; env: Record<string, string> }> {
  const dir = join(base, `view-${name}`);
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'app.yaml');
  await writeFile(
    file,
    stringify({
      name: 'app',
      sources: [{ name: 'data', path: source }],
      repository: { hot: { url: where.url, endpoint: where.endpoint, pathStyle: true, region: 'us-east-1' }, password: { env: 'VIEW_PASSWORD' } },
      objectives: { rpo: '26h', rto: '15m' },
    }),
  );
  return {
    file,
    env: { ...env, LIFEBOAT_HOME: join(base, `home-${name}`), VIEW_PASSWORD: where.password, AWS_ACCESS_KEY_ID: where.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: where.credentials.secretAccessKey },
  };
}

describe('a runbook with two S3 copies (issue 23)', () => {
  it('a backup fills both copies, each with its own credentials and password, and records each copy', async () => {
    const { code, run, out } = await backup();
    expect(code, out).toBe(0);
    expect(stageOf(run, 'copy')).toMatchObject({ status: 'succeeded', counters: { copies: 2, copiesFailed: 0, snapshotsCopied: 2 } });
    expect(stageOf(run, 'copy').counters.packsReadBack).toBeGreaterThan(0);
    const hot = await hotSnapshots();
    expect(hot).toHaveLength(1);
    expect(await copiedFrom(offsite())).toEqual(hot);
    expect(await copiedFrom(vault())).toEqual(hot);
    expect(run.copies?.map((c) => [c.name, c.status, c.snapshotsCopied])).toEqual([
      ['offsite', 'succeeded', 1],
      ['vault', 'succeeded', 1],
    ]);
  }, 60_000);

  it('the vault answering 503: the run is partial, copy-failed:app:vault is raised, hot and offsite are whole; status shows the lag', async () => {
    vaultProxy.plan = () => ({ type: 'status', status: 503, code: 'SlowDown' });
    await writeFile(join(source, 'notes.txt'), 'second\n');
    const { code, run, out } = await backup();
    expect(code, out).toBe(3);
    expect(run.status).toBe('partial');
    expect(stageOf(run, 'copy').status).toBe('partial');
    expect(run.copies?.map((c) => [c.name, c.status])).toEqual([
      ['offsite', 'succeeded'],
      ['vault', 'failed'],
    ]);
    expect(run.copies?.[1]?.error?.message).toMatch(/^copy vault \(s3:\/\/vault-b\/app\): /);
    const hot = await hotSnapshots();
    expect(hot).toHaveLength(2);
    expect(await copiedFrom(offsite())).toEqual(hot);
    expect(await openAlerts()).toEqual(['copy-failed:app:vault']);

    const status = await runCli(['status', '--copies', '--json'], { env });
    expect(status.code, status.stderr).toBe(0);
    const shown = JSON.parse(status.stdout) as { summary: string; data: StatusEntry[] };
    const entry = shown.data.find((e) => e.runbook === 'app')!;
    const [off, vlt] = entry.copies!;
    expect(off).toMatchObject({ name: 'offsite', lastAttempt: { status: 'succeeded' }, lagMs: 0, storage: { storageClass: 'STANDARD' } });
    expect(off!.storedBytes).toBeGreaterThan(300 * 1024);
    expect(off!.storage!.usdPerMonth).toBeCloseTo((off!.storedBytes! / 1024 ** 3) * 0.023, 12);
    // The vault is behind hot by the time between the two backups, and shows its size as of its last good fill.
    expect(vlt).toMatchObject({ name: 'vault', lastAttempt: { status: 'failed' } });
    expect(vlt!.lagMs).toBeGreaterThan(0);
    expect(vlt!.storedBytes).toBeGreaterThan(300 * 1024);
    expect(shown.summary).toMatch(/^3 copies of 1 runbook\(s\); storage about \$0\.00\/month at 2025 list prices, us-east-1$/);
  }, 60_000);

  it('healed, the next run catches the vault up on everything it lacks and the alert resolves', async () => {
    vaultProxy.plan = () => undefined;
    await writeFile(join(source, 'notes.txt'), 'third\n');
    const { code, run, out } = await backup();
    expect(code, out).toBe(0);
    expect(run.copies?.map((c) => [c.name, c.status, c.snapshotsCopied])).toEqual([
      ['offsite', 'succeeded', 1],
      ['vault', 'succeeded', 2],
    ]);
    const hot = await hotSnapshots();
    expect(hot).toHaveLength(3);
    expect(await copiedFrom(offsite())).toEqual(hot);
    expect(await copiedFrom(vault())).toEqual(hot);
    expect(await openAlerts()).toEqual([]);
  }, 60_000);

  // The vault's check is the SIGKILL test's last step.
  it('each copy restores byte-identically (restore --copy); offsite passes check', async () => {
    const view = await copyViewRunbook('offsite', offsite());
    const check = await runCli(['check', view.file, '--read-data'], { env: view.env });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    for (const name of ['offsite', 'vault']) {
      const target = join(base, `restored-${name}`);
      // As an operator whose hot repository is gone would: from the runbook, naming the copy.
      const restore = await runCli(['restore', runbookFile, 'latest', '--copy', name, '--target', target], { env });
      expect(restore.code, `${name}: ${restore.stdout}${restore.stderr}`).toBe(0);
      expect(restore.stdout).toContain(`from copy ${name} to ${target}`);
      expectSameManifest(await manifestOf(join(target, 'data')), await manifestOf(source));
    }
  }, 60_000);

  it('a drill of a copy records its RTO as the copy’s; status shows it under the copy, not as the hot RTO', async () => {
    const res = await runCli(['restore-drill', runbookFile, '--copy', 'vault'], { env });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toMatch(/drill met \(copy vault\): app/);
    const store = await openJsonStore(env.LIFEBOAT_HOME!);
    const [drill] = await store.listDrills({ runbook: 'app' });
    await store.close();
    expect(drill).toMatchObject({ copy: 'vault', tier: 'hot', verdict: 'met' });
    expect(drill!.rtoMs).toBeGreaterThan(0);
    const status = await runCli(['status', '--json'], { env });
    const entry = (JSON.parse(status.stdout) as { data: StatusEntry[] }).data.find((e) => e.runbook === 'app')!;
    expect(entry.hotRto).toBeUndefined();
    expect(entry.copies?.find((c) => c.name === 'vault')?.lastDrill).toMatchObject({ id: drill!.id, copy: 'vault', rtoMs: drill!.rtoMs });
  }, 60_000);

  it('SIGKILL while a backup copies into the vault: the next run completes it, nothing doubled or lost, check clean', async () => {
    await writeFile(join(source, 'notes.txt'), 'fourth\n');
    await writeFile(join(source, 'docs', 'b.bin'), keystream('b', 200 * 1024));
    const child = spawn(process.execPath, [join(repoRoot, 'bin/lifeboat.js'), 'backup', runbookFile], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...TEST_KEYS_ENV, ...env },
      stdio: 'ignore',
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    let killed = false;
    // The first data pack the vault is sent: the copy is under way. Kill the process right there, and hold the upload.
    vaultProxy.plan = (req) => {
      if (req.method === 'PUT' && req.url.includes('/data/') && !killed) {
        killed = true;
        child.kill('SIGKILL');
      }
      return killed ? { type: 'stall' } : undefined;
    };
    expect(await exited).toBe('SIGKILL');
    expect(killed).toBe(true);
    vaultProxy.plan = () => undefined;
    const hotBefore = await hotSnapshots();
    expect(hotBefore).toHaveLength(4);
    // The killed run wrote no snapshot into the vault: it still holds the three it had.
    expect(await copiedFrom(vault())).toHaveLength(3);

    const { code, run, out } = await backup();
    expect(code, out).toBe(0);
    expect(run.copies?.find((c) => c.name === 'vault')).toMatchObject({ status: 'succeeded', snapshotsCopied: 2 });
    // The vault's own retention (keep: last 3) forgot its two oldest; offsite keeps everything.
    expect(stageOf(run, 'copy').counters.forgotten).toBe(2);
    const hot = await hotSnapshots();
    expect(hot).toHaveLength(5);
    expect(await copiedFrom(vault())).toEqual(await newestHot(3));
    expect(await copiedFrom(offsite())).toEqual(hot);
    const view = await copyViewRunbook('vault', vault());
    const check = await runCli(['check', view.file, '--read-data'], { env: view.env });
    expect(check.code, check.stdout + check.stderr).toBe(0);
  }, 90_000);
});

describe('lifeboat copy', () => {
  it('fills every copy outside a backup, recorded as a run of kind copy: the after-hot folder copy gets all five, the others nothing new', async () => {
    const usb = join(base, 'usb');
    expect(existsSync(usb), 'a backup filled the after: hot copy').toBe(false);
    const res = await runCli(['copy', runbookFile], { env });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toContain('filled app: 3 of 3 copies filled');
    const [run] = (await runsOf(env.LIFEBOAT_HOME!, 'app')).filter((r) => r.kind === 'copy');
    expect(run).toMatchObject({ kind: 'copy', status: 'succeeded' });
    expect(run!.copies?.map((c) => [c.name, c.status, c.snapshotsCopied])).toEqual([
      ['offsite', 'succeeded', 0],
      ['vault', 'succeeded', 0],
      ['usb', 'succeeded', 5],
    ]);
    const folder = await Repository.open(await openBackend(`file://${usb}`), PASSWORD);
    const origins = ((await folder.listSnapshots()) as ColdSnapshot[]).map((s) => s.copiedFrom?.snapshot).sort();
    expect(origins).toEqual(await hotSnapshots());
  }, 60_000);
});
