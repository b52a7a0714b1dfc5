/**
 * Where a remote repository's local pieces live in the state folder: its
 * metadata cache (metadata-cache.ts) and its staging folder are named by a
 * short hash of the repository URL, so two runbooks on one bucket share the
 * cache and a changed URL starts a fresh one. A leaf module: start-up's key
 * prefetch (prefetch-repository-key.ts) finds the cached key file by it
 * without loading the backends.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';

/** 16 hex digits of the URL's SHA-256: the name part of its cache and staging folders. */
export function repositoryUrlKey(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 16);
}

/** The metadata cache folder of the repository at `url` (laid out as a local repository: keys/, index/, …). */
export function metadataCacheFolder(home: string, url: string): string {
  return join(home, 'cache', repositoryUrlKey(url));
}
