/**
 * The syntax of the places a runbook names: source paths, key files and
 * repository URLs. The schema checks it without touching the file system; the
 * loader then resolves what it found against the runbook's folder and the state
 * folder. One module so the two can never disagree.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The one variable expanded in paths and file: URLs: the state folder. */
export const HOME_VARIABLE = '${LIFEBOAT_HOME}';

export type ParsedUrl =
  | { kind: 'file'; /** As written after the scheme, percent-decoded, `${LIFEBOAT_HOME}` kept. */ path: string }
  | { kind: 's3'; bucket: string; prefix: string };

/** Problem with a value, as the text after `path: ` in an issue; undefined when fine. */
export function checkPathText(text: string): string | undefined {
  if (text.length === 0) return 'Empty path (expected an absolute path, a path relative to the runbook, or ${LIFEBOAT_HOME}/…)';
  if (text.includes('\0')) return 'Path contains a NUL byte (expected a file system path)';
  const unknown = /\$\{([^}]*)\}/g;
  for (let m = unknown.exec(text); m; m = unknown.exec(text)) {
    if (m[0] !== HOME_VARIABLE) return `Unknown variable "${m[0]}" (expected only ${HOME_VARIABLE})`;
  }
  if (text === '~' || text.startsWith('~/')) {
    return `"~" is not expanded (expected an absolute path, a path relative to the runbook, or ${HOME_VARIABLE}/…)`;
  }
  return undefined;
}

const bucketPattern = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Parses a repository URL or returns the problem as a message. */
export function parseRepositoryUrl(url: string): ParsedUrl | string {
  if (url.startsWith('file:')) {
    let rest = url.slice('file:'.length);
    if (rest.startsWith('//')) {
      rest = rest.slice(2);
      if (rest.startsWith('localhost/')) rest = rest.slice('localhost'.length);
      if (!rest.startsWith('/') && !rest.startsWith(HOME_VARIABLE)) {
        return `A file:// URL names a host here: "${url}" (expected file:///absolute/path or file:relative/path)`;
      }
    }
    if (rest.length === 0) return `A file: URL without a path: "${url}" (expected file:///absolute/path or file:relative/path)`;
    let decoded: string;
    try {
      decoded = decodeURIComponent(rest);
    } catch {
      return `Bad %-escape in "${url}" (expected %20 for a space, or the character itself)`;
    }
    const problem = checkPathText(decoded);
    if (problem !== undefined) return problem;
    return { kind: 'file', path: decoded };
  }
  if (url.startsWith('s3://')) {
    const rest = url.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    const prefix = slash === -1 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
    if (!bucketPattern.test(bucket) || bucket.includes('..')) {
      return `Bad S3 bucket name "${bucket}" (expected 3 to 63 lowercase letters, digits, dots and hyphens: s3://bucket/prefix)`;
    }
    if (prefix.includes('${')) return `Variables are not expanded in s3:// URLs: "${url}" (expected s3://bucket/prefix)`;
    if (prefix.split('/').some((part) => part === '' || part === '.' || part === '..')) {
      return `Bad S3 prefix in "${url}" (expected s3://bucket/prefix/parts without empty, "." or ".." parts)`;
    }
    return { kind: 's3', bucket, prefix };
  }
  return `Unsupported repository URL: "${url}" (expected file:///path, file:relative/path or s3://bucket/prefix)`;
}

/** `${LIFEBOAT_HOME}` → the state folder, then relative → against the runbook's folder. */
export function resolvePath(text: string, ctx: { baseDir: string; home: string }): string {
  const expanded = text.split(HOME_VARIABLE).join(ctx.home);
  return path.resolve(ctx.baseDir, expanded);
}

/** A repository URL in canonical form: file URLs absolute, s3 URLs without a trailing slash. */
export function resolveRepositoryUrl(parsed: ParsedUrl, ctx: { baseDir: string; home: string }): string {
  if (parsed.kind === 's3') return `s3://${parsed.bucket}${parsed.prefix ? `/${parsed.prefix}` : ''}`;
  return pathToFileURL(resolvePath(parsed.path, ctx)).href;
}
