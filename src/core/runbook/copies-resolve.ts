/**
 * `repository.copies` from what the schema accepted to what the engine uses:
 * file: URLs and key files made absolute against the runbook's folder and the
 * state folder, like the hot repository's (resolve.ts).
 */
import { parseRepositoryUrl, resolvePath, resolveRepositoryUrl } from './location.js';
import type { ParsedRunbook } from './schema.js';
import type { CopyLocation, RetentionPolicy, SecretRef } from './types.js';

type ParsedCopies = ParsedRunbook['repository']['copies'];
type Where = { baseDir: string; home: string };

function secretRef(ref: SecretRef, where: Where): SecretRef {
  return ref.kind === 'env' ? { kind: 'env', name: ref.name } : { kind: 'file', path: resolvePath(ref.path, where), create: ref.create };
}

function retentionOf(keep: NonNullable<NonNullable<ParsedCopies>[number]['keep']>): RetentionPolicy {
  const out: RetentionPolicy = {};
  for (const key of ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const) {
    const value = keep[key];
    if (value !== undefined) out[key] = value;
  }
  if (keep.within !== undefined) out.withinMs = keep.within;
  return out;
}

export function resolveCopies(copies: ParsedCopies, where: Where): CopyLocation[] | undefined {
  if (copies === undefined) return undefined;
  return copies.map((c) => {
    const parsed = parseRepositoryUrl(c.url);
    // The schema already refused bad URLs; this only happens if the two fell out of step.
    if (typeof parsed === 'string') throw new Error(`unreachable: ${parsed}`);
    const out: CopyLocation = { name: c.name, url: resolveRepositoryUrl(parsed, where), after: c.after };
    if (c.storageClass !== undefined) out.storageClass = c.storageClass;
    if (c.endpoint !== undefined) out.endpoint = c.endpoint;
    if (c.pathStyle !== undefined) out.pathStyle = c.pathStyle;
    if (c.region !== undefined) out.region = c.region;
    if (c.objectLock !== undefined) out.objectLock = { ...c.objectLock };
    if (c.password !== undefined) out.password = secretRef(c.password, where);
    if (c.credentials !== undefined) {
      out.credentials = { accessKeyId: secretRef(c.credentials.accessKeyId, where), secretAccessKey: secretRef(c.credentials.secretAccessKey, where) };
    }
    if (c.keep !== undefined) out.keep = retentionOf(c.keep);
    return out;
  });
}
