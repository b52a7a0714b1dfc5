import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../../src/core/backends/local-backend.js';
import { MemoryBackend, dropSharedMemoryBackend } from '../../../src/core/backends/memory-backend.js';
import { openBackend } from '../../../src/core/backends/open-backend.js';
import { rejection } from './contract.js';

describe('openBackend', () => {
  it('opens file:///abs URLs as local folders, decoding percent escapes', async () => {
    const backend = await openBackend('file:///var/backups/app-data');
    expect(backend).toBeInstanceOf(LocalBackend);
    expect(backend.location).toBe('/var/backups/app-data');
    expect((await openBackend('file:///var/backups/app%20data/')).location).toBe('/var/backups/app data');
    expect((await openBackend('file://localhost/srv/repo')).location).toBe('/srv/repo');
  });

  it('opens plain paths, relative ones against baseDir', async () => {
    expect((await openBackend('/srv/repo')).location).toBe('/srv/repo');
    expect((await openBackend('.lifeboat/repos/demo', { baseDir: '/home/op/project' })).location).toBe(
      '/home/op/project/.lifeboat/repos/demo',
    );
  });

  it('opens memory:NAME as one shared store per name', async () => {
    const a = await openBackend('memory:open-test');
    expect(a).toBeInstanceOf(MemoryBackend);
    expect(await openBackend('memory:open-test')).toBe(a);
    dropSharedMemoryBackend('open-test');
  });

  it('refuses malformed and unknown URLs, saying what it expected, never echoing a password', async () => {
    for (const url of ['file://relative/path', 'file:relative', 'memory:', 'ftp://host/x', '', 'file:///']) {
      const error = await rejection(openBackend(url), 'USAGE');
      expect(error.message).toMatch(/expected file:\/\/\/absolute\/path|file system root/);
    }
    const error = await rejection(openBackend('sftp://op:hunter2@host/x'), 'USAGE');
    expect(error.message).not.toContain('hunter2');
    expect(error.message).toContain('unsupported scheme "sftp:"');
  });
});
