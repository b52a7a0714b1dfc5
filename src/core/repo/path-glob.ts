/**
 * A glob on a path inside a snapshot (`source/dir/name`), as `find`, restore's
 * `--include`/`--exclude` and the browser read it: without a slash it matches
 * the name in any folder (`*.conf`), with one the whole path (`data/etc/**`);
 * a leading or trailing slash is ignored; hidden names match like any other.
 */
import picomatch from 'picomatch';
import { LifeboatError } from '../errors.js';

/** `emptyMessage`: the USAGE error for a pattern that is empty once its slashes are gone. */
export function snapshotPathGlob(pattern: string, emptyMessage: string, options: { ignoreCase?: boolean } = {}): (path: string) => boolean {
  const glob = pattern.replace(/^\/+/, '').replace(/\/+$/, '');
  if (glob === '') throw new LifeboatError('USAGE', emptyMessage);
  return picomatch(glob, { dot: true, basename: !glob.includes('/'), nocase: options.ignoreCase === true });
}
