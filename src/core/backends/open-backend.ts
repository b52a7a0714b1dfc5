import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LifeboatError } from '../errors.js';
import type { Backend } from './backend.js';
import { LocalBackend, type LocalBackendOptions } from './local-backend.js';
import { sharedMemoryBackend } from './memory-backend.js';
import type { LockSettings } from './object-lock.js';
// Type-only: the S3 adapter and its SDK load only when an s3:// URL is opened.
import type { S3BackendOptions } from './s3-backend.js';

/**
 * Where-to-reach settings a runbook's repository location carries besides its
 * URL (a runbook `RepositoryLocation` fits as is). Only s3:// URLs use them.
 */
export interface BackendLocationOptions {
  /** S3-compatible endpoint, e.g. http://127.0.0.1:9000. */
  endpoint?: string;
  pathStyle?: boolean;
  region?: string;
  /** Storage class of `data/` objects (config, keys, index, snapshots, locks stay STANDARD). */
  storageClass?: string;
  /** S3 Object Lock: the backend comes wrapped in an ObjectLockBackend (object-lock-backend.ts). */
  objectLock?: LockSettings;
}

export interface OpenBackendOptions {
  /** Folder that a plain relative path is resolved against (default: the process's working folder). */
  baseDir?: string;
  local?: LocalBackendOptions;
  /** The repository location's endpoint, pathStyle, region and storageClass. */
  location?: BackendLocationOptions;
  /**
   * Settings for code, not runbooks (timeouts, part sizes, createBucket,
   * credentials held by a test). Location fields win over the same fields here.
   */
  s3?: S3BackendOptions;
}

const expected = 'expected file:///absolute/path, a path, s3://bucket/prefix or memory:NAME';

/**
 * Opens the backend a repository URL names:
 * - `file:///abs/path` (percent-encoded as usual) — a local folder;
 * - a plain path, `/abs` or `relative/to/baseDir` — a local folder too;
 * - `s3://bucket/prefix` — S3 or an S3-compatible store (`options.location`
 *   says which endpoint, region and addressing; credentials come from the
 *   SDK's standard chain: environment, profile, instance role);
 * - `memory:NAME` — the process-wide in-memory backend NAME, for tests.
 * It only opens: the container is not created or checked (see `create`/`exists`).
 * Async so that heavy adapters (the S3 SDK) are imported only when used.
 */
export async function openBackend(url: string, options: OpenBackendOptions = {}): Promise<Backend> {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case undefined:
      refuseObjectLock(url, options);
      return new LocalBackend(localPath(url, options), options.local);
    case 'file':
      refuseObjectLock(url, options);
      return new LocalBackend(fileUrlPath(url), options.local);
    case 's3': {
      const { S3Backend } = await import('./s3-backend.js');
      const s3 = new S3Backend(url, s3Options(options));
      if (options.location?.objectLock === undefined) return s3;
      const { ObjectLockBackend } = await import('./object-lock-backend.js');
      return new ObjectLockBackend(s3);
    }
    case 'memory': {
      const name = url.slice('memory:'.length);
      if (name === '') throw badUrl(url, 'memory: needs a name');
      return sharedMemoryBackend(name);
    }
    default:
      throw badUrl(url, `unsupported scheme "${scheme}:"`);
  }
}

/** Object Lock is an S3 feature; the runbook schema says so first, this guards code that builds locations itself. */
function refuseObjectLock(url: string, options: OpenBackendOptions): void {
  if (options.location?.objectLock !== undefined) throw badUrl(url, 'objectLock needs an s3:// repository');
}

function s3Options(options: OpenBackendOptions): S3BackendOptions {
  const { endpoint, pathStyle, region, storageClass, objectLock } = options.location ?? {};
  return {
    ...options.s3,
    ...(objectLock === undefined ? {} : { objectLock }),
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(pathStyle === undefined ? {} : { pathStyle }),
    ...(region === undefined ? {} : { region }),
    ...(storageClass === undefined ? {} : { dataStorageClass: storageClass }),
  };
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
