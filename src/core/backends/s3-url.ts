/**
 * The S3 repository URL, `s3://bucket/prefix`: parsed and checked before any
 * client is made, and never repeated with credentials in it.
 */
import { LifeboatError } from '../errors.js';

const bucketPattern = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** `s3://bucket/prefix` → its parts; a USAGE error saying what was expected otherwise. */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]*)(?:\/(.*))?$/i.exec(url);
  const bucket = match?.[1] ?? '';
  const prefix = (match?.[2] ?? '').replace(/\/+$/, '');
  const bad = (why: string) =>
    new LifeboatError('USAGE', `bad repository URL ${JSON.stringify(redactUrl(url))}: ${why} (expected s3://bucket/prefix)`, {
      details: { url: redactUrl(url) },
    });
  if (match === null) throw bad('not an s3:// URL');
  if (bucket.includes('@')) throw bad('credentials never go in the URL (they come from the environment, a profile or a role)');
  if (!bucketPattern.test(bucket) || bucket.includes('..')) {
    throw bad(`bucket name "${bucket}" is not 3 to 63 lowercase letters, digits, dots and hyphens`);
  }
  if (prefix !== '' && prefix.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw bad('the prefix has an empty, "." or ".." part');
  }
  return { bucket, prefix };
}

/** Never repeat credentials someone put in a URL (`scheme://user:secret@host`). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^/@]*@/, '$1***@');
}
