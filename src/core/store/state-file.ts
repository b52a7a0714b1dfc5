/**
 * The state file's shape and its text form. Parsing never repairs: anything that
 * is not a version-1 Lifeboat state file is reported, so a damaged file is never
 * mistaken for an empty one and overwritten.
 */
import { LifeboatError } from '../errors.js';
import type { AlertRecord, AuditRecord, DeliveryRecord, DrillRecord, RunRecord } from './records.js';

export const stateFormat = 'lifeboat-state';
export const stateVersion = 1;

export interface StateFile {
  format: typeof stateFormat;
  version: typeof stateVersion;
  runs: RunRecord[];
  drills: DrillRecord[];
  alerts: AlertRecord[];
  audit: AuditRecord[];
  /** The alert outbox (src/core/notify/outbox.ts). Files written before it existed have none. */
  deliveries: DeliveryRecord[];
}

export function emptyState(): StateFile {
  return { format: stateFormat, version: stateVersion, runs: [], drills: [], alerts: [], audit: [], deliveries: [] };
}

/** Why a file was refused; `newer-version` is not damage and must not be moved aside. */
export type StateProblem = 'not-json' | 'wrong-format' | 'bad-version' | 'bad-shape' | 'newer-version';

export function corruptStoreError(path: string, problem: StateProblem, what: string): LifeboatError {
  if (problem === 'newer-version') {
    return new LifeboatError(
      'STORE_CORRUPT',
      `State file ${path} was written by a newer Lifeboat (${what}; this one reads version ${stateVersion}). ` +
        `It is left untouched: upgrade Lifeboat, or point LIFEBOAT_HOME at another folder. Do not move it aside.`,
      { details: { path, reason: problem } },
    );
  }
  return new LifeboatError(
    'STORE_CORRUPT',
    `State file ${path} is damaged: ${what}. Lifeboat left it untouched and will not read or write it. ` +
      `To start over, move it aside: mv '${path}' '${path}.corrupt-$(date +%s)' ` +
      `(the next command begins an empty history beside it; what the old file still holds stays readable with jq). ` +
      `Or put back a good copy of the file (a backup of ${path}).`,
    { details: { path, reason: problem, recovery: 'move-aside' } },
  );
}

const collections = {
  runs: ['id', 'runbook', 'startedAt'],
  drills: ['id', 'runbook', 'startedAt'],
  alerts: ['key', 'runbook', 'lastSeen', 'status'],
  audit: ['id', 'at'],
  deliveries: ['id', 'alertKey', 'sink', 'status', 'createdAt', 'nextAttemptAt'],
} as const;

/** Collections added after version 1 first shipped: absent in older files, read as empty. */
const addedLater = new Set(['deliveries']);

/** Parses and checks a state file's text; throws STORE_CORRUPT naming `path`. */
export function parseState(text: string, path: string): StateFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    const why = text.trim() === '' ? 'the file is empty' : `not valid JSON (${(e as Error).message.replace(/\s+/g, ' ')})`;
    throw corruptStoreError(path, 'not-json', why);
  }
  if (!isObject(data) || data['format'] !== stateFormat) {
    throw corruptStoreError(path, 'wrong-format', `not a Lifeboat state file (expected "format": "${stateFormat}")`);
  }
  const version = data['version'];
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw corruptStoreError(path, 'bad-version', `"version" is ${JSON.stringify(version)} (expected ${stateVersion})`);
  }
  if (version > stateVersion) {
    throw corruptStoreError(path, 'newer-version', `format version ${version}`);
  }
  for (const [name, required] of Object.entries(collections)) {
    if (data[name] === undefined && addedLater.has(name)) data[name] = [];
    const list = data[name];
    if (!Array.isArray(list)) throw corruptStoreError(path, 'bad-shape', `"${name}" is not a list`);
    // Lists sort and bound on these fields, so a record without them cannot be kept in order.
    list.forEach((record: unknown, i) => {
      if (!isObject(record)) throw corruptStoreError(path, 'bad-shape', `${name}[${i}] is not an object`);
      for (const field of required) {
        if (typeof record[field] !== 'string') {
          throw corruptStoreError(path, 'bad-shape', `${name}[${i}].${field} is not a string`);
        }
      }
    });
  }
  return data as unknown as StateFile;
}

/**
 * Compact JSON: every write re-reads and rewrites the whole file under the lock,
 * and at thousands of records a record-per-line layout costs three times the
 * CPU of one plain stringify. `jq .` makes it readable.
 */
export function formatState(state: StateFile): string {
  return `${JSON.stringify(state)}\n`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
