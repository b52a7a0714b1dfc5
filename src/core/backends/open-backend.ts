import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LifeboatError } from '../errors.js';
import type { Backend } from './backend.js';
import { LocalBackend, type LocalBackendOptions } from './local-backend.js';
import { sharedMemoryBackend } from './memory-backend.js';

export interface OpenBackendOptions {
  /** Folder that a plain relative path is resolved against (default: the process's working folder). */
  baseDir?: string;
  local?: LocalBackendOptions;
}

const expected = 'expected file:///absolute/path, a path, s3://bucket/prefix or memory:NAME';

/**
 * Opens the backend a repository URL names:
 * - `file:///abs/path` (percent-encoded as usual) — a local folder;
 * - a plain path, `/abs` or `relative/to/baseDir` — a local folder too;
 * - `s3://bucket/prefix` — S3 (not supported yet: USAGE error);
 * - `memory:NAME` — the process-wide in-memory backend NAME, for tests.
 * It only opens: the container is not created or checked (see `create`/`exists`).
 * Async so that heavy adapters (the S3 SDK) are imported only when used.
 */
export async function openBackend(url: string, options: OpenBackendOptions = {}): Promise<Backend> {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case undefined:
      return new LocalBackend(localPath(url, options), options.local);
    case 'file':
      return new LocalBackend(fileUrlPath(url), options.local);
    case 's3':
      throw new LifeboatError('USAGE', `s3:// repositories are not supported yet: ${redact(url)}`, {
        details: { url: redact(url) },
      });
    case 'memory': {
      const name = url.slice('memory:'.length);
      if (name === '') throw badUrl(url, 'memory: needs a name');
      return sharedMemoryBackend(name);
    }
    default:
      throw badUrl(url, `unsupported scheme "${scheme}:"`);
  }
}

function localPath(path: string, options: OpenBackendOptions): string {
  if (path.trim() === '') throw badUrl(path, 'empty repository location');
  return isAbsolute(path) ? resolve(path) : resolve(options.baseDir ?? process.cwd(), path);
}

function fileUrlPath(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badUrl(url, 'not a valid URL');
  }
  // file://host/x names a remote host; file://relative/x is a common slip for a relative path.
  if (parsed.host !== '' && parsed.host !== 'localhost') {
    throw badUrl(url, `file URLs name no host (got "${parsed.host}"); use three slashes: file:///absolute/path`);
  }
  if (!/^file:\/\//i.test(url)) throw badUrl(url, 'use file:///absolute/path');
  return fileURLToPath(parsed);
}

function badUrl(url: string, why: string): LifeboatError {
  return new LifeboatError('USAGE', `bad repository URL ${JSON.stringify(redact(url))}: ${why} (${expected})`, {
    details: { url: redact(url) },
  });
}

/** Never repeat a password someone put in a URL. */
function redact(url: string): string {
  return url.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^/@]*@/, '$1***@');
}
