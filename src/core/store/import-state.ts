/**
 * `lifeboat store import <state.json>`: a JSON store's history written into
 * the configured store (PostgreSQL) by id, so importing twice doubles nothing:
 * runs, drills and audit entries are upserts by id, alerts by key, and a
 * delivery already in the outbox is left as it is (putAlert never rewrites one).
 *
 * Deliveries are written the only way the Store port writes them, with their
 * alert (putAlert), one transition (the deliveries that shared a `seq`) at a
 * time in the file's order, so the store numbers them in the same order.
 */
import { readFile } from 'node:fs/promises';
import { isLifeboatError, LifeboatError } from '../errors.js';
import type { AlertRecord, DeliveryRecord } from './records.js';
import { parseState, type StateFile } from './state-file.js';
import type { Store } from './store.js';

export interface ImportCounts {
  runs: number;
  drills: number;
  alerts: number;
  deliveries: number;
  audit: number;
}

/** Reads and checks a state file; USAGE naming it when it is missing, unreadable, not JSON or not a state file. */
export async function readStateFileForImport(path: string): Promise<StateFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (code ?? (e as Error).message);
    throw new LifeboatError('USAGE', `Cannot import ${path}: ${why} (expected a Lifeboat state file, e.g. .lifeboat/state.json)`, { cause: e, details: { path } });
  }
  try {
    return parseState(text, path);
  } catch (e) {
    if (!isLifeboatError(e, 'STORE_CORRUPT')) throw e;
    // parseState's message is about the live store (move it aside…); for an import only the problem matters.
    const what = /(?:is damaged: |newer Lifeboat \()(.*?)(?:\. Lifeboat left it untouched|; this one reads)/s.exec(e.message)?.[1] ?? e.message;
    throw new LifeboatError('USAGE', `Cannot import ${path}: ${what}. Nothing was imported.`, { cause: e, details: { path, reason: e.details?.reason } });
  }
}

/** Writes every record of `state` into `store`; the counts are what the file held (and the store now has). */
export async function importState(state: StateFile, store: Store, signal?: AbortSignal): Promise<ImportCounts> {
  const check = () => {
    if (signal?.aborted) throw new LifeboatError('CANCELLED', 'import cancelled (what was written stays; run it again to finish)');
  };
  // In the file's order (the order they were written): stores break ties in time by it.
  for (const run of state.runs) {
    check();
    await store.putRun(run);
  }
  for (const drill of state.drills) {
    check();
    await store.putDrill(drill);
  }
  const alerts = new Map<string, AlertRecord>(state.alerts.map((a) => [a.key, a]));
  const transitions = new Map<string, Map<number, DeliveryRecord[]>>();
  for (const d of state.deliveries) {
    const bySeq = transitions.get(d.alertKey) ?? new Map<number, DeliveryRecord[]>();
    bySeq.set(d.seq, [...(bySeq.get(d.seq) ?? []), d]);
    transitions.set(d.alertKey, bySeq);
  }
  for (const key of new Set([...alerts.keys(), ...transitions.keys()])) {
    const groups = [...(transitions.get(key) ?? new Map<number, DeliveryRecord[]>()).entries()].sort(([a], [b]) => a - b).map(([, g]) => g);
    // An alert the file no longer holds (bounded away) keeps its owed deliveries, written with the alert as their last transition saw it.
    const alert = alerts.get(key) ?? groups.at(-1)?.[0]?.alert;
    if (!alert) continue;
    if (groups.length === 0) {
      check();
      await store.putAlert(alert);
    }
    for (const group of groups) {
      check();
      await store.putAlert(alert, group);
    }
  }
  for (const entry of state.audit) {
    check();
    await store.appendAudit(entry);
  }
  return { runs: state.runs.length, drills: state.drills.length, alerts: state.alerts.length, deliveries: state.deliveries.length, audit: state.audit.length };
}
