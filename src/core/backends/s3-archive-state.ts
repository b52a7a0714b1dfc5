/**
 * Where an S3 object stands in an archive storage class, read from HeadObject
 * (src/core/backends/backend.ts: ArchiveState). Pure, so the Glacier
 * behaviour s3rver lacks is tested on its own (test/core/tier/thaw.test.ts).
 */
import type { ArchiveState } from './backend.js';

/** Storage classes whose objects cannot be read before a thaw (RestoreObject). */
export const archiveStorageClasses: ReadonlySet<string> = new Set(['GLACIER', 'DEEP_ARCHIVE']);

/** Reads HeadObject's StorageClass, Restore (x-amz-restore) and ArchiveStatus into an ArchiveState. */
export function archiveStateFromHead(storageClass: string | undefined, restore: string | undefined, archiveStatus?: string): ArchiveState {
  const cls = storageClass ?? 'STANDARD';
  const archivedClass = archiveStorageClasses.has(cls) || archiveStatus !== undefined;
  if (!archivedClass) return { storageClass: cls, state: 'readable' };
  if (restore !== undefined && /ongoing-request\s*=\s*"true"/i.test(restore)) return { storageClass: cls, state: 'thawing' };
  if (restore !== undefined && /ongoing-request\s*=\s*"false"/i.test(restore)) {
    const expiry = /expiry-date\s*=\s*"([^"]+)"/i.exec(restore)?.[1];
    const expiresAt = expiry === undefined ? undefined : new Date(expiry);
    return { storageClass: cls, state: 'thawed', ...(expiresAt === undefined || Number.isNaN(expiresAt.getTime()) ? {} : { expiresAt }) };
  }
  return { storageClass: cls, state: 'archived' };
}
