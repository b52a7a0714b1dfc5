/**
 * What every engine run (backup, drill, tier) is given instead of reaching for
 * globals: the store, time, the event sink, who asked, the environment (for
 * secret references and commands), the state folder and the known secrets.
 */
import type { Clock } from './clock.js';
import type { LifeboatConfig } from './config/types.js';
import type { EventSink } from './events.js';
import type { Redactor } from './redaction/redactor.js';
import type { Runbook } from './runbook/types.js';
import type { Actor } from './store/records.js';
import type { Store } from './store/store.js';

export interface RunContext {
  runbook: Runbook;
  store: Store;
  clock: Clock;
  emit: EventSink;
  actor: Actor;
  env: Readonly<Record<string, string | undefined>>;
  /** The state folder: run locks, staging, caches and drill scratch space live here. */
  home: string;
  signal?: AbortSignal;
  /**
   * The secret values Lifeboat knows (every runbook's, the environment's):
   * redacted from everything the run writes or emits, and refused to child
   * processes where they are passwords. Without it a run knows its own
   * runbook's and the environment's.
   */
  secrets?: Redactor;
  /** lifeboat.yaml (sinks, alert routes and repeat); absent: every default. */
  config?: LifeboatConfig;
}
