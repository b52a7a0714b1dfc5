/**
 * A copy seen as a runbook of its own: the same name, sources and objectives,
 * with the copy as its hot repository, the copy's password and the copy's
 * retention (`keep`). Opening, locking, restoring, drilling and checking a
 * copy then go through the very code paths the hot repository uses
 * (src/core/repo/open-repository.ts, src/core/drill/restore-drill.ts), and
 * snapshots keep the runbook's name, so "this runbook's snapshots" means the
 * same in hot and in every copy.
 */
import { LifeboatError } from '../errors.js';
import type { CopyLocation, Runbook } from '../runbook/types.js';

/** The runbook's copies, in the order the runbook lists them. */
export function copiesOf(runbook: Runbook): readonly CopyLocation[] {
  return runbook.repository.copies ?? [];
}

/** The copy called `name`; USAGE naming the runbook's copies when there is none. */
export function findCopy(runbook: Runbook, name: string): CopyLocation {
  const copies = copiesOf(runbook);
  const found = copies.find((c) => c.name === name);
  if (found) return found;
  const known = copies.length === 0 ? 'it has no repository.copies' : `its copies are ${copies.map((c) => c.name).join(', ')}`;
  throw new LifeboatError('USAGE', `runbook ${runbook.name} (${runbook.file}) has no copy named ${JSON.stringify(name)}: ${known}`);
}

/**
 * The runbook as it reads and writes `copy` (see the file comment). Cold and
 * the copies stay listed, so the alert rules a drill of the copy runs at its
 * end still see every copy (copy-failed) and the cold tier.
 */
export function runbookForCopy(runbook: Runbook, copy: CopyLocation): Runbook {
  const { name: _name, password, after: _after, keep, ...location } = copy;
  const view: Runbook = {
    ...runbook,
    repository: Object.freeze({ ...runbook.repository, hot: location, password: password ?? runbook.repository.password }),
  };
  if (keep === undefined) delete view.retention;
  else view.retention = keep;
  return Object.freeze(view);
}
