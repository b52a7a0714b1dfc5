/**
 * lifeboat.yaml, as the engine sees it after validation: what is not per
 * runbook: where state and runbooks live, sinks, alert routing, and the state store.
 * The loader (./load.ts) finds it (--config, LIFEBOAT_CONFIG, ./lifeboat.yaml,
 * /etc/lifeboat/lifeboat.yaml) and checks it like a runbook.
 */
import type { AlertRoute, SecretRef } from '../runbook/types.js';

export type SinkConfig =
  | { type: 'slack'; channel: string; token: SecretRef }
  | { type: 'webhook'; url: string; secret?: SecretRef }
  | { type: 'ntfy'; url: string; topic: string; token?: SecretRef }
  | { type: 'pagerduty'; routingKey: SecretRef; url: string }
  | {
      type: 'email';
      smtp: { host: string; port: number; secure: boolean; user?: string; password?: SecretRef };
      from: string;
      to: readonly string[];
    };

export interface LifeboatConfig {
  /** The file it was read from; undefined when none was found (every default). */
  file?: string;
  /**
   * The state folder (`home:`), absolute: resolved against lifeboat.yaml's
   * folder. LIFEBOAT_HOME overrides it; neither: ./.lifeboat (./places.ts).
   */
  home?: string;
  /** The runbooks folder (`runbooks:`), absolute, likewise; LIFEBOAT_RUNBOOKS overrides it; neither: ./runbooks. */
  runbooks?: string;
  /** Sinks by name. */
  notify: Readonly<Record<string, SinkConfig>>;
  alerts: {
    /** Repeat interval of open, unacknowledged critical alerts (default 4h). */
    repeatMs: number;
    /** Route of runbooks that name none. */
    notify: readonly AlertRoute[];
  };
  /**
   * The state store (`store:`): PostgreSQL at the URL behind `url` (a secret,
   * by reference only). Absent: the JSON file in the state folder, unless
   * LIFEBOAT_STORE_URL is set (src/core/store/open-store.ts decides).
   */
  store?: StoreConfig;
}

export interface StoreConfig {
  /** Where the connection URL (`postgres://…`, `sslmode` included) is read from. */
  url: SecretRef;
  /** History kept by age (`keep: 400d`). */
  keepMs: number;
  /** How long the serve that leads holds its lease without renewing it (`leaderLease: 15s`). */
  leaderLeaseMs: number;
}

export const DEFAULT_STORE_KEEP_MS = 400 * 24 * 60 * 60 * 1000;

/** A dead leader is replaced within this and a third (20 s): inside the 30 s operators are promised. */
export const DEFAULT_LEADER_LEASE_MS = 15_000;

export const DEFAULT_REPEAT_MS = 4 * 60 * 60 * 1000;

/** No lifeboat.yaml: no sinks but the implicit Slack one of runbooks with `alerts.slack`. */
export const defaultConfig: LifeboatConfig = {
  notify: {},
  alerts: { repeatMs: DEFAULT_REPEAT_MS, notify: [] },
};
