/**
 * A staged file's upload body (file-body.ts) tells its reader's `onRead` the
 * size of every chunk it reads, so the main thread can collect those chunks'
 * garbage as uploads run (issue 22: they were ~40 MiB of an S3 backup's peak;
 * StagingOptions.onBodyRead, release-memory.ts mainThreadSentBytes). Every
 * attempt's stream reads the whole file again and reports it again.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openFileBody } from '../../../src/core/backends/file-body.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('file-body');

describe('openFileBody onRead', () => {
  it('reports every chunk a stream reads, adding up to the file, once per stream', async () => {
    const path = join(await tempDir(), 'pack');
    const data = randomBytes(1024 * 1024 + 12_345);
    await writeFile(path, data);
    const reads: number[] = [];
    const body = await openFileBody(path, (bytes) => reads.push(bytes));
    try {
      for (let attempt = 1; attempt <= 2; attempt++) {
        const chunks: Buffer[] = [];
        for await (const chunk of body.stream()) chunks.push(chunk as Buffer);
        expect(Buffer.concat(chunks).equals(data)).toBe(true);
        expect(reads.reduce((a, b) => a + b, 0)).toBe(attempt * data.length);
      }
      expect(Math.max(...reads)).toBeLessThanOrEqual(256 * 1024);
    } finally {
      await body.close();
    }
  });
});
