/**
 * The fleet's agents on /metrics (issue 19), read from the hosts registry at
 * each scrape, as every other series is read from the store:
 *
 *   lifeboat_agent_up{host}                            1 while its agent heartbeats, 0 once silent past the
 *                                                      lost threshold, or never seen by a host runbooks name
 *   lifeboat_agent_last_seen_timestamp_seconds{host}   its last heartbeat (database clock), unix seconds;
 *                                                      absent for a host never seen
 *
 * Only with a PostgreSQL store (the daemon registers them when it has a
 * registry). A scrape the registry cannot answer keeps the last values rather
 * than failing /metrics, whose other series may still be readable.
 */
import { Gauge, type Registry } from 'prom-client';
import { DEFAULT_LOST_AFTER_MS, runbooksByHost, type Clock, type HostRecord, type HostRegistry, type Runbook } from '../core/index.js';
import { gaugeSync } from './metrics-gauge-sync.js';

export interface AgentMetricsOptions {
  registry: Pick<HostRegistry, 'list'>;
  runbooks(): readonly Runbook[];
  clock: Clock;
  lostAfterMs?: number;
}

export function registerAgentMetrics(registry: Registry, options: AgentMetricsOptions): void {
  const lostAfterMs = options.lostAfterMs ?? DEFAULT_LOST_AFTER_MS;
  /** One registry read per scrape: prom-client starts every gauge's collect in the same turn, so the second finds the first's read. */
  let reading: Promise<HostRecord[] | undefined> | undefined;
  const hosts = () => (reading ??= options.registry.list().catch(() => undefined).finally(() => (reading = undefined)));

  const labelNames = ['host'] as const;
  const up: Gauge<'host'> = new Gauge({
    name: 'lifeboat_agent_up',
    help: "1 while the host's agent sends heartbeats, 0 once it has been silent past the lost threshold (60 s) or, for a host runbooks name, when no agent ever reported",
    labelNames,
    registers: [registry],
    async collect() {
      const list = await hosts();
      if (list === undefined) return;
      const now = options.clock.now().getTime();
      const named = runbooksByHost(options.runbooks());
      syncUp((put) => {
        for (const h of list) put({ host: h.name }, h.state === 'up' && now - Date.parse(h.lastSeen) <= lostAfterMs ? 1 : 0);
        for (const host of named.keys()) if (!list.some((h) => h.name === host)) put({ host }, 0);
      });
    },
  });
  const syncUp = gaugeSync(up, labelNames);

  const lastSeen: Gauge<'host'> = new Gauge({
    name: 'lifeboat_agent_last_seen_timestamp_seconds',
    help: "The host's agent's last heartbeat (the store database's clock), unix seconds",
    labelNames,
    registers: [registry],
    async collect() {
      const list = await hosts();
      if (list === undefined) return;
      syncLastSeen((put) => {
        for (const h of list) put({ host: h.name }, Date.parse(h.lastSeen) / 1000);
      });
    },
  });
  const syncLastSeen = gaugeSync(lastSeen, labelNames);
}
