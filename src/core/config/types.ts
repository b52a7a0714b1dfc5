/**
 * lifeboat.yaml, as the engine sees it after validation: what is not per
 * runbook. Sinks now; the state store, runbooks folder and state folder later.
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
  /** Sinks by name. */
  notify: Readonly<Record<string, SinkConfig>>;
  alerts: {
    /** Repeat interval of open, unacknowledged critical alerts (default 4h). */
    repeatMs: number;
    /** Route of runbooks that name none. */
    notify: readonly AlertRoute[];
  };
}

export const DEFAULT_REPEAT_MS = 4 * 60 * 60 * 1000;

/** No lifeboat.yaml: no sinks but the implicit Slack one of runbooks with `alerts.slack`. */
export const defaultConfig: LifeboatConfig = {
  notify: {},
  alerts: { repeatMs: DEFAULT_REPEAT_MS, notify: [] },
};
