/**
 * The hosts pane's data (issue 19): with a PostgreSQL store, each poll also
 * reads the hosts registry and builds core's hosts view from it and the
 * dashboard's own rows, so the pane and the runbook list never disagree. The
 * registry opens on the first poll, on a small pool of its own that the
 * console closes when it quits (an idle pg connection would keep the process
 * alive). With the JSON store there is none, and no pane.
 */
import { hostsView, openHostRegistry, storeSetting, type HostRecord, type HostRegistry, type StoreSetting } from '../core/index.js';
import type { StoreSnapshot } from './state.js';

type Location = Parameters<typeof storeSetting>[0];

export interface FleetHosts {
  /** Undefined with the JSON store. */
  list?: () => Promise<HostRecord[]>;
  close(): Promise<void>;
}

export function fleetHosts(location: Location): FleetHosts {
  const setting: StoreSetting = storeSetting(location);
  let opening: Promise<HostRegistry | undefined> | undefined;
  const registry = () => (opening ??= openHostRegistry(location));
  return {
    ...(setting.kind === 'json' ? {} : { list: async () => (await registry())?.list() ?? [] }),
    async close() {
      const opened = await opening?.catch(() => undefined);
      await opened?.close();
    },
  };
}

/** A loader whose snapshots carry the fleet's hosts, from the same poll's runbook rows. */
export function withHosts(load: () => Promise<StoreSnapshot>, hosts: () => Promise<readonly HostRecord[]>): () => Promise<StoreSnapshot> {
  return async () => {
    const [snapshot, rows] = await Promise.all([load(), hosts()]);
    const view = hostsView({
      runbooks: snapshot.runbooks.map((r) => ({ name: r.name, host: r.host })),
      status: snapshot.runbooks.map((r) => ({ runbook: r.name, lastRun: r.lastRun, lastSuccess: r.lastSuccess, rpoState: r.rpoState as StoreSnapshotRpo })),
      now: new Date(snapshot.loadedAt),
      hosts: rows,
      here: '',
    });
    return { ...snapshot, hosts: view.hosts };
  };
}

type StoreSnapshotRpo = Parameters<typeof hostsView>[0]['status'][number]['rpoState'];
