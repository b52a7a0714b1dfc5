/**
 * What a drill restored: the whole snapshot (the drill the runbook's RTO is
 * measured by) or one path of it (`restore-drill --path`, `/restore-drill
 * <runbook> <path>`: a quick check that a critical file is there and comes
 * back intact).
 *
 * A path drill's RTO is the time to get that path back. Counted as the
 * runbook's, a one-file drill meeting the target would answer "how fast do I
 * get everything back" with the time of one file; so the readers of the
 * runbook's RTO — status (src/core/status/runbook-status.ts), /metrics
 * (measuredDrills, src/core/alerts/rule.ts) and the alert rules
 * (src/core/alerts/evaluate.ts) — read whole drills only, through
 * {@link wholeDrills}. Path drills stay in the store and in history.
 */
import { LifeboatError } from '../errors.js';
import type { DrillBrief, DrillRecord } from '../store/records.js';
import { groupByRunbook } from '../store/group-by-runbook.js';
import type { DrillListOptions, Store } from '../store/store.js';

/** True for a drill of one path (`--path`), false for a drill of the whole snapshot. */
export function isPathDrill(drill: Pick<DrillRecord, 'path'>): boolean {
  return drill.path !== undefined;
}

/** True for a drill of one of the runbook's copies (`--copy`): its RTO is that copy's. */
export function isCopyDrill(drill: Pick<DrillRecord, 'copy'>): boolean {
  return drill.copy !== undefined;
}

/**
 * The drills that restored the whole snapshot from the runbook's own tiers:
 * the ones that speak for the runbook's RTO and drill health. A copy's drill
 * is left out like a path drill; status reads it under the copy.
 */
export function wholeDrills<T extends Pick<DrillRecord, 'path' | 'copy'>>(drills: readonly T[]): T[] {
  return drills.filter((d) => !isPathDrill(d) && !isCopyDrill(d));
}

/**
 * The newest `perRunbook` whole drills of each runbook matching `options`,
 * newest first per runbook. One windowed read (ListOptions.perRunbook) as
 * status and /metrics make it; a runbook whose window path drills took places
 * in is read again on its own (its history is bounded by the store's
 * drillsPerRunbook), so three Slack path drills after Monday's drill do not
 * push the runbook's last RTO out of a window of three.
 */
export async function newestWholeDrills(store: Pick<Store, 'listDrills'>, options: DrillListOptions & { perRunbook: number; brief: true }): Promise<DrillBrief[]>;
export async function newestWholeDrills(store: Pick<Store, 'listDrills'>, options: DrillListOptions & { perRunbook: number }): Promise<DrillRecord[]>;
export async function newestWholeDrills(store: Pick<Store, 'listDrills'>, options: DrillListOptions & { perRunbook: number }): Promise<DrillBrief[]> {
  const windowed = await store.listDrills(options);
  const { perRunbook: _window, limit: _limit, ...filters } = options;
  // Synchronous for every runbook whose window is whole (all of them, usually): 500 runbooks are 500 lists, not 500 promises.
  const lists: DrillBrief[][] = [];
  const rereads: Promise<void>[] = [];
  for (const [runbook, list] of groupByRunbook(windowed)) {
    const whole = wholeDrills(list);
    const at = lists.push(whole) - 1;
    if (whole.length === list.length || list.length < options.perRunbook) continue;
    rereads.push(store.listDrills({ ...filters, runbook }).then((all) => void (lists[at] = wholeDrills(all).slice(0, options.perRunbook))));
  }
  await Promise.all(rereads);
  return lists.flat();
}

/** Longer than any path a person types; a longer one is a mistake, not a path. */
const MAX_PATH_LENGTH = 4096;

/**
 * The path a drill restores, as it is named in the snapshot: `data/etc/app.yaml`.
 * A leading `/` (paths are written as they were on the source) and `.`
 * components are dropped; `..`, a NUL or nothing at all is refused (USAGE), so
 * a bad path is a usage error that records nothing, while a good path that is
 * not in the snapshot is the drill's finding (a failed drill naming it).
 */
export function drillPath(raw: string): string {
  if (raw.length > MAX_PATH_LENGTH) throw new LifeboatError('USAGE', `the path to drill is ${raw.length} characters long; at most ${MAX_PATH_LENGTH}`);
  if (raw.includes('\0')) throw new LifeboatError('USAGE', 'the path to drill must not contain a NUL character');
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new LifeboatError('USAGE', `path ${JSON.stringify(raw)}: ".." is not allowed; name a path inside the snapshot, e.g. data/etc/app.yaml`);
  if (parts.length === 0) throw new LifeboatError('USAGE', `path ${JSON.stringify(raw)} names nothing inside the snapshot; name a path such as data/etc/app.yaml`);
  return parts.join('/');
}
