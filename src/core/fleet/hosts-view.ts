/**
 * What `lifeboat hosts`, the console and Slack show of the fleet: every host
 * (registered by its agent, or named by a runbook and never seen), whether it
 * is up, what it runs now, and its runbooks with their last backup. A pure
 * function of the registry's rows, the runbooks' status and `now`, so every
 * face shows the same thing and tests need no clock.
 *
 * "lost" is judged here from lastSeen, not only from the row's state: between
 * an agent's silence and the leader's next pass the row still says up.
 */
import type { Clock } from '../clock.js';
import { readStatusRecords, statusOfAll, type StatusEntry, type StatusRunbook } from '../status/runbook-status.js';
import type { Store } from '../store/store.js';
import { DEFAULT_LOST_AFTER_MS, type HostBeat, type HostRecord, type HostRegistry } from './hosts.js';

/**
 * `local`: the JSON store's one machine, where everything runs (no agents);
 * `never-seen`: runbooks name it, no agent ever reported for it.
 */
export type HostViewState = 'up' | 'lost' | 'never-seen' | 'local';

export interface HostRunbookView {
  name: string;
  /** The newest backup, whatever its outcome, and the newest good one (what the RPO is measured from). */
  lastBackup?: { status: string; at: string; ageMs: number };
  lastGoodBackup?: { at: string; ageMs: number };
  rpoState: StatusEntry['rpoState'];
}

export interface HostView {
  name: string;
  state: HostViewState;
  version?: string;
  platform?: string;
  firstSeen?: string;
  lastSeen?: string;
  /** now − lastSeen. */
  lastSeenAgeMs?: number;
  runningJob: HostBeat['runningJob'];
  runbooks: HostRunbookView[];
}

export interface HostsView {
  /** Which store the view comes from: with `json` there is one host, this machine. */
  store: 'postgres' | 'json';
  hosts: HostView[];
  /** Runbooks without `host:` (they run wherever Lifeboat is started); on the JSON store, part of the local host instead. */
  anyHost: HostRunbookView[];
}

export interface HostsViewInput {
  /** Runbooks by name with their `host:` (undefined: any host). */
  runbooks: readonly { name: string; host?: string | undefined }[];
  /** Each runbook's status, as `status` computes it (only what the view shows is needed). */
  status: readonly Pick<StatusEntry, 'runbook' | 'lastRun' | 'lastSuccess' | 'rpoState'>[];
  now: Date;
  /** The registry's hosts; undefined with the JSON store. */
  hosts?: readonly HostRecord[];
  /** With the JSON store: this machine's name (localHostName()). */
  here: string;
  lostAfterMs?: number;
}

export function hostsView(input: HostsViewInput): HostsView {
  const { now } = input;
  const statusOf = new Map(input.status.map((s) => [s.runbook, s]));
  const runbookView = (name: string): HostRunbookView => runbookLine(name, statusOf.get(name), now);
  const byName = [...input.runbooks].sort((a, b) => a.name.localeCompare(b.name));

  if (input.hosts === undefined) {
    return {
      store: 'json',
      hosts: [{ name: input.here, state: 'local', runningJob: null, runbooks: byName.map((r) => runbookView(r.name)) }],
      anyHost: [],
    };
  }

  const lostAfterMs = input.lostAfterMs ?? DEFAULT_LOST_AFTER_MS;
  const views = new Map<string, HostView>();
  for (const h of input.hosts) {
    const ageMs = now.getTime() - Date.parse(h.lastSeen);
    views.set(h.name, {
      name: h.name,
      state: h.state === 'lost' || ageMs > lostAfterMs ? 'lost' : 'up',
      version: h.version,
      platform: h.platform,
      firstSeen: h.firstSeen,
      lastSeen: h.lastSeen,
      lastSeenAgeMs: Math.max(0, ageMs),
      runningJob: h.runningJob,
      runbooks: [],
    });
  }
  const anyHost: HostRunbookView[] = [];
  for (const r of byName) {
    if (r.host === undefined) {
      anyHost.push(runbookView(r.name));
      continue;
    }
    let view = views.get(r.host);
    if (view === undefined) {
      view = { name: r.host, state: 'never-seen', runningJob: null, runbooks: [] };
      views.set(r.host, view);
    }
    view.runbooks.push(runbookView(r.name));
  }
  return { store: 'postgres', hosts: [...views.values()].sort((a, b) => a.name.localeCompare(b.name)), anyHost };
}

function runbookLine(name: string, status: HostsViewInput['status'][number] | undefined, now: Date): HostRunbookView {
  const age = (at: string) => Math.max(0, now.getTime() - Date.parse(at));
  const last = status?.lastRun;
  const good = status?.lastSuccess;
  const lastAt = last === undefined ? undefined : (last.endedAt ?? last.startedAt);
  const goodAt = good === undefined ? undefined : (good.endedAt ?? good.startedAt);
  return {
    name,
    ...(last !== undefined && lastAt !== undefined ? { lastBackup: { status: last.status, at: lastAt, ageMs: age(lastAt) } } : {}),
    ...(goodAt !== undefined ? { lastGoodBackup: { at: goodAt, ageMs: age(goodAt) } } : {}),
    rpoState: status?.rpoState ?? '—',
  };
}

export interface ReadHostsViewInput {
  /** The runbooks as listRunbooks gives them: an invalid one has no `runbook` and counts as any host's. */
  runbooks: readonly StatusRunbook[];
  store: Store;
  clock: Clock;
  /** undefined with the JSON store (openHostRegistry). */
  registry: Pick<HostRegistry, 'list'> | undefined;
  here: string;
  lostAfterMs?: number;
}

/** Reads the registry and the runbooks' status, then builds the view (the time read after both, as status does). */
export async function readHostsView(input: ReadHostsViewInput): Promise<HostsView> {
  // The store first: when PostgreSQL is down, its error is the one that says so (and where records are spooled).
  const records = await readStatusRecords(input.store, input.runbooks);
  const hosts = await input.registry?.list();
  const now = input.clock.now();
  return hostsView({
    runbooks: input.runbooks.map((r) => ({ name: r.name, host: r.runbook?.host })),
    status: statusOfAll(input.runbooks, records, now),
    now,
    ...(hosts === undefined ? {} : { hosts }),
    here: input.here,
    ...(input.lostAfterMs === undefined ? {} : { lostAfterMs: input.lostAfterMs }),
  });
}
