/**
 * A backup's workers yield to its main thread (issue 22, thread-priority.ts),
 * read back from the kernel (/proc/self/task/<tid>/stat) in a fresh process:
 * a backup pool's two worker threads run BACKUP_WORKER_NICE_STEPS below the
 * process and the main thread does not move; a pool for other work (restore,
 * check, drill) leaves its workers as they were; and in an agent, which keeps
 * a worker for its next job of any kind, no worker yields (a yielded thread
 * cannot always take its priority back).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../../src/core/backends/local-backend.js';
import { S3Backend } from '../../../src/core/backends/s3-backend.js';
import { StagingBackend } from '../../../src/core/backends/staging-backend.js';
import { workersYieldToWalk } from '../../../src/core/repo/archiver.js';
import { BACKUP_WORKER_NICE_STEPS, yieldThisThread } from '../../../src/core/repo/thread-priority.js';
import { childJsonLine } from '../../helpers/child-json.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('thread-priority');
const child = fileURLToPath(new URL('../../helpers/thread-priority-child.ts', import.meta.url));

interface Seen {
  base: number;
  main: number;
  duringBackup: number[];
  afterBackup: number[];
  duringOther: number[];
}

const seen = async (mode: 'cli' | 'agent'): Promise<Seen> => childJsonLine<Seen>(child, [mode, await tempDir()]);

describe.runIf(process.platform === 'linux')('a backup pool’s workers yield to the main thread', () => {
  it('in a one-shot command: the backup pool’s two workers, and nothing else', async () => {
    const s = await seen('cli');
    const yielded = Math.min(19, s.base + BACKUP_WORKER_NICE_STEPS);
    expect(s.duringBackup).toEqual(s.base === 19 ? [] : [yielded, yielded]);
    expect(s.main).toBe(s.base);
    expect(s.afterBackup).toEqual([]);
    expect(s.duringOther).toEqual([]);
  });

  it('in an agent, which keeps a worker between jobs: none', async () => {
    const s = await seen('agent');
    expect(s.duringBackup).toEqual([]);
    expect(s.duringOther).toEqual([]);
  });

  it('asked for no steps, changes nothing', () => {
    expect(yieldThisThread(0)).toBe(false);
  });
});

describe('which backups yield', () => {
  it('into a local repository; not into S3, staged or not, where the main thread also uploads what the workers pack', async () => {
    const dir = await tempDir();
    const s3 = new S3Backend('s3://bucket/repo', { endpoint: 'https://127.0.0.1:9', region: 'us-east-1', credentials: { accessKeyId: 'k', secretAccessKey: 's' } });
    expect(workersYieldToWalk(new LocalBackend(dir))).toBe(true);
    expect(workersYieldToWalk(s3)).toBe(false);
    expect(workersYieldToWalk(new StagingBackend(s3, new LocalBackend(dir)))).toBe(false);
  });
});
