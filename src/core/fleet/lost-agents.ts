/**
 * Agents that went silent, and hosts no agent serves (issue 19). One pass,
 * run by serve's leader next to its staleness checks (src/serve/agent-watch.ts):
 *
 * - a host whose last heartbeat is older than `lostAfterMs` (default 60 s):
 *   its runs still `running` in the store (recorded with its name, or the run
 *   its last beat said it was running) are recorded `failed` with "agent lost
 *   on <host>", each with an audit entry; `agent-down:<host>` is raised
 *   (critical) through the alert outbox, so it reaches the sinks and Slack as
 *   every alert does; the host is marked `lost`;
 * - a host that runbooks in service name but no agent ever reported for,
 *   after `noAgentGraceMs` (default 5 min) of this leader watching it:
 *   `agent-down:<host>` (warning), so their jobs do not wait unnoticed;
 * - an open `agent-down:<host>` whose host heartbeats again (or that no
 *   runbook names any more, never seen) is resolved.
 *
 * Every step is idempotent, so a leader that dies mid-pass leaves nothing the
 * next pass (its own, or a new leader's) does not finish: a failed run is no
 * longer `running`, an open alert is only refreshed, the lost mark comes last.
 *
 * The alert has no runbook of its own: it is filed under the host's first
 * runbook (by name) and routed as that runbook's alerts are, so the implicit
 * Slack sink knows its channel. A host no runbook in service names is shown
 * lost by `lifeboat hosts` but pages nobody: nothing of ours runs there.
 */
import type { Clock } from '../clock.js';
import { DEFAULT_REPEAT_MS, type LifeboatConfig } from '../config/types.js';
import { formatDuration } from '../format.js';
import { newRecordId } from '../ids.js';
import type { Notifier } from '../alerts/notifier.js';
import { evaluateAlerts, followUp } from '../alerts/evaluate.js';
import { deliveriesFor, toldSinks } from '../notify/routing.js';
import type { Runbook } from '../runbook/types.js';
import type { AlertRecord, AlertTransition, RunRecord, Severity } from '../store/records.js';
import type { Store } from '../store/store.js';
import { DEFAULT_LOST_AFTER_MS, type HostRecord, type HostRegistry } from './hosts.js';
import { runbooksByHost } from './runbooks-by-host.js';

export const AGENT_DOWN_RULE = 'agent-down';
/** A host not yet served by any agent may be one being set up: give it this long before anyone is told. */
export const DEFAULT_NO_AGENT_GRACE_MS = 5 * 60_000;
/** The code of a run an agent did not live to finish. */
export const AGENT_LOST_CODE = 'AGENT_LOST';

export function agentDownKey(host: string): string {
  return `${AGENT_DOWN_RULE}:${host}`;
}

/** Host names may hold "." and "-" but never ":", so the key splits back. */
export function hostOfAgentDownKey(key: string): string | undefined {
  const host = key.startsWith(`${AGENT_DOWN_RULE}:`) ? key.slice(AGENT_DOWN_RULE.length + 1) : '';
  return host === '' ? undefined : host;
}

export function agentLostMessage(host: string): string {
  return `agent lost on ${host}`;
}

export interface AgentWatchOptions {
  registry: Pick<HostRegistry, 'list' | 'silent' | 'markLost'>;
  store: Store;
  clock: Clock;
  /** In-process display of raised and resolved alerts (serve's log); people are told through the outbox. */
  notifier: Notifier;
  config?: LifeboatConfig;
  /** The runbooks in service now. */
  runbooks: () => readonly Runbook[];
  lostAfterMs?: number;
  noAgentGraceMs?: number;
}

export interface AgentWatchPass {
  /** Hosts marked lost by this pass. */
  lost: string[];
  /** Runs this pass recorded failed. */
  failedRuns: RunRecord[];
  raised: AlertRecord[];
  resolved: AlertRecord[];
  /** What went wrong on the way (the rest of the pass went on). */
  errors: string[];
}

export class AgentWatch {
  readonly #o: AgentWatchOptions;
  readonly #lostAfterMs: number;
  readonly #graceMs: number;
  /** Hosts runbooks name that no agent reported for: when this watch first saw them so (clock ms). */
  readonly #waitingSince = new Map<string, number>();

  constructor(options: AgentWatchOptions) {
    this.#o = options;
    this.#lostAfterMs = options.lostAfterMs ?? DEFAULT_LOST_AFTER_MS;
    this.#graceMs = options.noAgentGraceMs ?? DEFAULT_NO_AGENT_GRACE_MS;
  }

  async check(): Promise<AgentWatchPass> {
    const { registry, store, clock } = this.#o;
    const pass: AgentWatchPass = { lost: [], failedRuns: [], raised: [], resolved: [], errors: [] };
    const now = clock.now();
    const byHost = runbooksByHost(this.#o.runbooks());
    const [hosts, silent, open] = await Promise.all([registry.list(), registry.silent(this.#lostAfterMs), store.listAlerts({ status: 'open' })]);
    const known = new Map(hosts.map((h) => [h.name, h]));
    const silentNames = new Set(silent.map((h) => h.name));

    let running: RunRecord[] | undefined;
    for (const host of silent) {
      try {
        running ??= await store.listRuns({ status: ['running'] });
        await this.#failRunsOf(host, running, now, pass);
        const own = byHost.get(host.name);
        if (own !== undefined) {
          const silence = formatDuration(now.getTime() - Date.parse(host.lastSeen));
          const message = `The agent on ${host.name} is lost: no heartbeat for ${silence} (last seen ${host.lastSeen}); no job of ${names(own)} runs until it is back`;
          await this.#raise(host.name, own, 'critical', message, now, pass);
        }
        if (host.state === 'up' && (await registry.markLost(host.name, host.lastSeen))) pass.lost.push(host.name);
      } catch (e) {
        pass.errors.push(`host ${host.name}: ${messageOf(e)}`);
      }
    }

    for (const [name, own] of byHost) {
      if (known.has(name)) {
        this.#waitingSince.delete(name);
        continue;
      }
      const since = this.#waitingSince.get(name) ?? now.getTime();
      this.#waitingSince.set(name, since);
      if (now.getTime() - since < this.#graceMs) continue;
      const message = `No agent has ever reported for host ${name} (watched for ${formatDuration(now.getTime() - since)}): no job of ${names(own)} runs until \`lifeboat agent --host ${name}\` runs there`;
      await this.#raise(name, own, 'warning', message, now, pass).catch((e: unknown) => pass.errors.push(`host ${name}: ${messageOf(e)}`));
    }
    for (const name of this.#waitingSince.keys()) if (!byHost.has(name)) this.#waitingSince.delete(name);

    for (const alert of open) {
      const host = hostOfAgentDownKey(alert.key);
      if (host === undefined || alert.rule !== AGENT_DOWN_RULE) continue;
      const back = known.has(host) && !silentNames.has(host);
      const nobodyWaits = !known.has(host) && !byHost.has(host);
      if (back || nobodyWaits) await this.#resolve(alert, now, pass).catch((e: unknown) => pass.errors.push(`host ${host}: ${messageOf(e)}`));
    }

    // A failed run is what the failed-run rule pages on: judge its runbook now, not at the next stale check.
    const affected = new Set(pass.failedRuns.map((r) => r.runbook));
    for (const runbook of this.#o.runbooks().filter((r) => affected.has(r.name))) {
      const evaluation = await evaluateAlerts({ runbook, store, clock, notifier: this.#o.notifier, config: this.#o.config, trigger: 'run' });
      pass.errors.push(...evaluation.errors.map((e) => `alert rules for ${e.runbook} (${e.source}): ${e.message}`));
    }
    return pass;
  }

  /** Records the host's runs that are still `running` failed: it will not finish them. */
  async #failRunsOf(host: HostRecord, running: RunRecord[], now: Date, pass: AgentWatchPass): Promise<void> {
    const at = now.toISOString();
    const error = { code: AGENT_LOST_CODE, message: agentLostMessage(host.name) };
    for (const run of running) {
      if (run.status !== 'running' || (run.host !== host.name && run.id !== host.runningJob?.runId)) continue;
      for (const stage of run.stages) if (stage.status === 'running') Object.assign(stage, { status: 'failed', endedAt: at, error });
      Object.assign(run, { status: 'failed', endedAt: at, durationMs: Math.max(0, now.getTime() - Date.parse(run.startedAt)), error });
      await this.#o.store.putRun(run);
      await this.#o.store.appendAudit({
        id: newRecordId(this.#o.clock),
        at,
        actor: { face: 'scheduler', user: 'scheduler' },
        command: 'agent-lost',
        args: [host.name],
        runbook: run.runbook,
        where: 'serve',
        result: 'failed',
        detail: `${run.kind} run ${run.id} of ${run.runbook} recorded failed: ${error.message} (last heartbeat ${host.lastSeen})`,
      });
      pass.failedRuns.push(run);
    }
  }

  /** Opens agent-down:<host>, or refreshes it (told again only when its severity rose or a critical one is due a repeat). */
  async #raise(host: string, own: readonly Runbook[], severity: Severity, message: string, now: Date, pass: AgentWatchPass): Promise<void> {
    const at = now.toISOString();
    const runbook = own[0]!;
    const repeatMs = runbook.alerts.repeatMs ?? this.#o.config?.alerts.repeatMs ?? DEFAULT_REPEAT_MS;
    const written = await this.#settle(agentDownKey(host), runbook, (stored) => {
      if (stored?.status === 'open') {
        const next: AlertRecord = { ...stored, severity, message, lastSeen: at };
        const transition = followUp(stored, next, now, repeatMs);
        if (transition !== undefined) next.lastNotifiedAt = at;
        return { alert: next, transition };
      }
      const alert: AlertRecord = { key: agentDownKey(host), runbook: runbook.name, rule: AGENT_DOWN_RULE, severity, message, firstSeen: at, lastSeen: at, count: 1, status: 'open', lastNotifiedAt: at };
      return { alert, transition: 'raised' };
    });
    if (written?.transition === 'raised' || written?.transition === 'escalated') {
      pass.raised.push(written.alert);
      await this.#o.notifier.raised(written.alert).catch(() => undefined);
    }
  }

  async #resolve(alert: AlertRecord, now: Date, pass: AgentWatchPass): Promise<void> {
    const at = now.toISOString();
    const runbook = this.#o.runbooks().find((r) => r.name === alert.runbook) ?? nowhere;
    const written = await this.#settle(alert.key, runbook, (stored) =>
      stored?.status === 'open' ? { alert: { ...stored, status: 'resolved', resolvedAt: at, lastSeen: at }, transition: 'resolved' } : undefined,
    );
    if (written === undefined) return;
    pass.resolved.push(written.alert);
    await this.#o.notifier.resolved(written.alert).catch(() => undefined);
  }

  /**
   * As evaluate.ts settles a rule's alert: decide from the stored record, write
   * the alert with its deliveries only if the stored one is still the one
   * decided on, else decide again, so two writers never both raise it.
   */
  async #settle(
    key: string,
    runbook: Pick<Runbook, 'alerts'>,
    decide: (stored: AlertRecord | undefined) => { alert: AlertRecord; transition?: AlertTransition } | undefined,
  ): Promise<{ alert: AlertRecord; transition?: AlertTransition } | undefined> {
    const { store, clock, config } = this.#o;
    for (let attempt = 1; ; attempt++) {
      const stored = await store.getAlert(key);
      const decision = decide(stored);
      if (decision === undefined) return undefined;
      const { alert, transition } = decision;
      const told = transition === 'resolved' ? toldSinks(await store.listDeliveries({ runbook: alert.runbook }), alert) : [];
      const deliveries = transition === undefined ? [] : deliveriesFor({ alert, transition, runbook, config, clock, told });
      if (await store.putAlert(alert, deliveries, attempt < 5 ? { ifStored: stored ?? null } : {})) return decision;
    }
  }
}

/** A runbook no longer in service: its alert's resolution goes to the sinks told of it, and lifeboat.yaml's defaults. */
const nowhere = { alerts: {} } as Pick<Runbook, 'alerts'>;

function names(runbooks: readonly Pick<Runbook, 'name'>[]): string {
  const list = runbooks.map((r) => r.name);
  return list.length === 1 ? `runbook ${list[0]}` : `runbooks ${list.join(', ')}`;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
