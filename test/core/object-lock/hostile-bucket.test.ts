/**
 * The must-show of Object Lock (issue 23), end to end through the CLI and the
 * real AWS SDK against the Object Lock double (test/helpers/object-lock-s3.ts):
 *
 * - backups run with the backup-only credential of docs/object-lock.md;
 * - `maintain` killed with SIGKILL halfway through its PutObjectRetention
 *   calls, run again: it completes, and every object kept snapshots need is
 *   retained a full period from the second run;
 * - an attacker puts a delete marker on every key and writes garbage over a
 *   pack, and cannot delete a single retained version: `check --read-data`
 *   passes and names what it read from locked versions, and every snapshot
 *   restores byte for byte.
 */
import { spawn } from 'node:child_process';
import { cp, mkdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Backend } from '../../../src/core/backends/s3-backend.js';
import type { FileKind } from '../../../src/core/backends/backend.js';
import { ensureCliBuilt, repoRoot, runCli, TEST_KEYS_ENV } from '../../helpers/cli.js';
import { expectSameManifest, manifestOf } from '../../helpers/fs-manifest.js';
import { backupOnlyActions, startObjectLockS3, type LockRequest, type ObjectLockS3 } from '../../helpers/object-lock-s3.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const DAY = 24 * 60 * 60 * 1000;
const BUCKET = 'locked-backups';
const PREFIX = 'orders';
const backupKey = { accessKeyId: 'BACKUPONLY', secretAccessKey: 'backup-secret', allow: [...backupOnlyActions, `s3:DeleteObject@${PREFIX}/locks/`] };
const attackerKey = { accessKeyId: 'STOLENADMIN', secretAccessKey: 'stolen-secret' };

const temp = useTempDirs('lifeboat-object-lock-cli-');
let double: ObjectLockS3;
let killAt: { action: string; nth: number; kill: () => void } | undefined;
let base: string;
let runbook: string;

function env(home: string): Record<string, string> {
  return {
    LIFEBOAT_PASSWORD: 'object lock tests password',
    LIFEBOAT_HOME: home,
    AWS_ACCESS_KEY_ID: backupKey.accessKeyId,
    AWS_SECRET_ACCESS_KEY: backupKey.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

async function writeSource(dir: string, version: string): Promise<void> {
  await mkdir(join(dir, 'db'), { recursive: true });
  await writeFile(join(dir, 'db', 'orders.csv'), Array.from({ length: 3000 }, (_, i) => `${i},order ${i} ${version}\n`).join(''));
  await writeFile(join(dir, `notes-${version}.txt`), `notes of ${version}\n`.repeat(500));
  await writeFile(join(dir, 'blob.bin'), Buffer.alloc(30_000, version));
}

/** Object keys of the repository that hold backups (lock files are not retained). */
function retainedKeys(): string[] {
  return double.keys(BUCKET).filter((k) => k.startsWith(`${PREFIX}/`) && !k.startsWith(`${PREFIX}/locks/`));
}

beforeAll(async () => {
  let counted = 0;
  double = await startObjectLockS3({
    credentials: [backupKey, attackerKey],
    onRequest: (r: LockRequest) => {
      if (killAt && r.action === killAt.action && ++counted === killAt.nth) killAt.kill();
    },
  });
  double.createBucket(BUCKET, true);
  await ensureCliBuilt();
  base = await temp();
  const source = join(base, 'source');
  runbook = join(base, 'orders.yaml');
  await writeFile(
    runbook,
    [
      'name: orders',
      'owner: "@lifeboat-tests"',
      'sources:',
      `  - { name: data, path: ${JSON.stringify(source)} }`,
      'repository:',
      '  hot:',
      `    url: s3://${BUCKET}/${PREFIX}`,
      `    endpoint: ${double.endpoint}`,
      '    pathStyle: true',
      '    region: us-east-1',
      '    objectLock: { mode: COMPLIANCE, days: 3 }',
      '  password: { env: LIFEBOAT_PASSWORD }',
      'objectives: { rpo: 26h, rto: 15m }',
      '',
    ].join('\n'),
  );
}, 60_000);

afterAll(async () => {
  await double?.close();
});

describe('a locked repository in a hostile bucket (CLI)', () => {
  const snapshots: { id: string; copy: string }[] = [];

  it('init and two backups with the backup-only credential write every object retained', async () => {
    const home = join(base, 'home');
    const source = join(base, 'source');
    const init = await runCli(['init', runbook], { env: env(home) });
    expect(init.code, init.stderr + init.stdout).toBe(0);
    for (const version of ['monday', 'tuesday']) {
      await writeSource(source, version);
      const backup = await runCli(['backup', runbook], { env: env(home) });
      expect(backup.code, backup.stderr + backup.stdout).toBe(0);
      const id = /snapshot ([0-9a-f]{8})/.exec(backup.stdout)?.[1];
      expect(id, backup.stdout).toBeDefined();
      const copy = join(base, `expected-${version}`);
      await cp(source, copy, { recursive: true, preserveTimestamps: true });
      const folders = ['.', 'db'];
      for (const folder of folders) {
        const { atime, mtime } = await stat(join(source, folder));
        await utimes(join(copy, folder), atime, mtime); // cp sets folder times before filling them
      }
      snapshots.push({ id: id!, copy });
    }
    for (const key of retainedKeys()) {
      const versions = double.versions(BUCKET, key);
      expect(versions, key).toHaveLength(1);
      expect(versions[0]!.mode, key).toBe('COMPLIANCE');
      expect(versions[0]!.retainUntil!.getTime(), key).toBeGreaterThan(double.now().getTime() + 2.9 * DAY);
    }
  });

  it('maintain killed with SIGKILL halfway is completed by the next run', async () => {
    const home = join(base, 'home');
    // --within longer than the period: every kept object is due, so the first run has many calls to be killed in.
    const args = [join(repoRoot, 'bin/lifeboat.js'), 'maintain', runbook, '--within', '4d'];
    const before = new Map(retainedKeys().map((k) => [k, double.versions(BUCKET, k)[0]!.retainUntil!.getTime()]));
    const child = spawn(process.execPath, args, { cwd: repoRoot, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...TEST_KEYS_ENV, ...env(home) }, stdio: 'ignore' });
    killAt = { action: 's3:PutObjectRetention', nth: 2, kill: () => child.kill('SIGKILL') };
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    killAt = undefined;
    expect(signal).toBe('SIGKILL');
    const extendedBeforeKill = retainedKeys().filter((k) => double.versions(BUCKET, k)[0]!.retainUntil!.getTime() > before.get(k)!);

    const rerunAt = double.now().getTime();
    const rerun = await runCli(['maintain', runbook, '--within', '4d'], { env: env(home) });
    expect(rerun.code, rerun.stderr + rerun.stdout).toBe(0);
    expect(rerun.stdout).toMatch(/2 kept snapshot\(s\), \d+ object\(s\) they need, \d+ extended to/);
    // Both snapshots are kept (no retention policy): every object is theirs, and every one now runs a full period from the re-run.
    for (const key of retainedKeys()) {
      expect(double.versions(BUCKET, key)[0]!.retainUntil!.getTime(), key).toBeGreaterThanOrEqual(rerunAt + 3 * DAY);
    }
    // The killed run had extended some objects, not all.
    expect(extendedBeforeKill.length).toBeLessThan(retainedKeys().length);
  });

  it('an attacker deletes every key and overwrites a pack: check recovers, every snapshot restores byte for byte', async () => {
    // The backup credential itself may not delete backups at all.
    const backupOnly = new S3Backend(`s3://${BUCKET}/${PREFIX}`, { endpoint: double.endpoint, pathStyle: true, credentials: backupKey });
    const somePack = retainedKeys().find((k) => k.includes('/data/'))!;
    await expect(backupOnly.remove({ kind: 'data', name: somePack.split('/').at(-1)! })).rejects.toMatchObject({ code: 'BACKEND_PERMISSION' });
    await backupOnly.close();

    const attacker = new S3Backend(`s3://${BUCKET}/${PREFIX}`, { endpoint: double.endpoint, pathStyle: true, credentials: attackerKey });
    const keys = retainedKeys();
    let versionDeletesRefused = 0;
    for (const key of keys) {
      const handle = handleOf(key);
      for (const version of double.versions(BUCKET, key)) {
        await attacker.removeVersion(handle, version.versionId).catch((e: { code?: string }) => {
          if (e.code === 'BACKEND_PERMISSION') versionDeletesRefused++;
        });
      }
      await attacker.remove(handle);
    }
    expect(versionDeletesRefused).toBe(keys.length);
    await attacker.save(handleOf(somePack), Buffer.from('ransom note: pay to get your pack back'));
    await attacker.close();
    const listed = await new S3Backend(`s3://${BUCKET}/${PREFIX}`, { endpoint: double.endpoint, pathStyle: true, credentials: backupKey }).list('snapshots')[Symbol.asyncIterator]().next();
    expect(listed.done).toBe(true); // to a plain S3 reader the repository looks empty

    const check = await runCli(['check', runbook, '--read-data'], { env: env(join(base, 'home-check')) });
    expect(check.code, check.stderr + check.stdout).toBe(0);
    expect(check.stdout).toContain(`pack ${somePack.split('/').at(-1)!.slice(0, 12)}: current version damaged, restored from locked version`);
    expect(check.stdout).toMatch(/snapshot [0-9a-f]{12}: current version deleted, restored from locked version/);
    expect(check.stdout).toMatch(/config: current version deleted, restored from locked version/);

    for (const { id, copy } of snapshots) {
      const target = join(base, `restored-${id}`);
      const restore = await runCli(['restore', runbook, id, '--target', target], { env: env(join(base, 'home-restore')) });
      expect(restore.code, restore.stderr + restore.stdout).toBe(0);
      expect(restore.stdout).toMatch(/note: snapshot [0-9a-f]{12}: current version deleted, restored from locked version/);
      expectSameManifest(await manifestOf(join(target, 'data')), await manifestOf(copy));
    }
  });
});

function handleOf(key: string): { kind: FileKind; name: string } {
  const rest = key.slice(PREFIX.length + 1);
  if (rest === 'config') return { kind: 'config', name: 'config' };
  return { kind: rest.split('/')[0] as FileKind, name: rest.split('/').at(-1)! };
}
