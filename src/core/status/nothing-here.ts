/**
 * "Is there anything here at all?" for the read-only commands (status,
 * history, audit). Run from the wrong folder, they used to create an empty
 * state folder there and report 0 runbooks with exit 0, which reads as "all
 * is well". Now the JSON store creates nothing until it is written
 * (store/json-store.ts), and when the store holds nothing and the runbooks
 * folder has no runbook, they say where they looked and exit 2: like a runbook
 * name that does not exist, it is the invocation that points at nothing (the
 * folder it ran from, a missing home or runbooks setting), not a failure of
 * anything Lifeboat did, and it is fixed by running it differently.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { LifeboatConfig } from '../config/types.js';
import { LifeboatError } from '../errors.js';
import { storeSetting } from '../store/open-store.js';
import type { Store } from '../store/store.js';

export interface Whereabouts {
  store: Store;
  /** The state folder (the JSON store's home). */
  home: string;
  /** Where runbook names are looked up, absolute or relative to `cwd`. */
  runbooksDir: string;
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  config?: LifeboatConfig | undefined;
}

/** True when the store holds no run, drill, alert or audit entry: nothing was ever recorded there. */
export async function storeIsEmpty(store: Store): Promise<boolean> {
  // One record of each is enough to know; a team's PostgreSQL store answers each from an index.
  const [runs, drills, alerts, audit] = await Promise.all([store.listRuns({ limit: 1 }), store.listDrills({ limit: 1 }), store.listAlerts({ limit: 1 }), store.listAudit({ limit: 1 })]);
  return runs.length + drills.length + alerts.length + audit.length === 0;
}

/** Where the state store is, as an operator would look for it: the JSON file's path, or which setting names PostgreSQL. */
export function describeStateStore(where: Pick<Whereabouts, 'home' | 'env' | 'config'>): { kind: 'json' | 'postgres'; where: string } {
  const setting = storeSetting({ home: where.home, env: where.env, ...(where.config ? { config: where.config } : {}) });
  if (setting.kind === 'json') return { kind: 'json', where: setting.path };
  return { kind: 'postgres', where: `the PostgreSQL store of ${setting.via === 'lifeboat.yaml' ? 'lifeboat.yaml store.url' : setting.via}` };
}

/**
 * What to say when nothing is recorded yet: undefined when the store holds
 * something; else a line naming where the state is looked for.
 */
export async function nothingRecordedNote(where: Whereabouts): Promise<string | undefined> {
  if (!(await storeIsEmpty(where.store))) return undefined;
  return `nothing recorded yet in ${describeStateStore(where).where}`;
}

/** USAGE (exit 2) naming both places looked in, when the store holds nothing and `runbookCount` is 0; else nothing. */
export async function refuseNothingHere(where: Whereabouts, runbookCount: number): Promise<void> {
  if (runbookCount > 0 || !(await storeIsEmpty(where.store))) return;
  const runbooks = resolve(where.cwd, where.runbooksDir);
  const state = describeStateStore(where);
  // A state file that exists but holds nothing (left by an older Lifeboat's read) is not "no state".
  const stateSaid = state.kind === 'json' && !(await exists(state.where)) ? `no state at ${state.where}` : `nothing recorded in ${state.where}`;
  throw new LifeboatError(
    'USAGE',
    `Nothing here: ${stateSaid} and no runbooks in ${runbooks}. ` +
      `Run Lifeboat from the folder that holds them, or set home and runbooks in lifeboat.yaml (or LIFEBOAT_HOME and LIFEBOAT_RUNBOOKS).`,
    { details: { state: state.where, runbooks } },
  );
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
