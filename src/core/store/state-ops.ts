/**
 * What a store does to its state, as plain functions over a StateFile, so the
 * in-memory and the JSON store cannot drift apart: both call these.
 *
 * Arrays keep insertion order (a replaced record keeps its place); lists sort by
 * time, newest first, and a tie goes to the record written later.
 */
import { LifeboatError } from '../errors.js';
import type { AlertRecord, AuditRecord, DeliveryReceipt, DeliveryRecord, DrillRecord, RunRecord } from './records.js';
import type { StateFile } from './state-file.js';
import {
  defaultStoreLimits,
  type ClaimedDelivery,
  type ClaimOptions,
  type DeliveryListOptions,
  type DeliveryResult,
  type DrillListOptions,
  type AuditListOptions,
  type ListOptions,
  type PutAlertOptions,
  type RunListOptions,
  type StoreLimits,
} from './store.js';

export type AlertListOptions = ListOptions & { status?: 'open' | 'resolved' };

export function resolveLimits(overrides: Partial<StoreLimits> = {}): StoreLimits {
  const limits = { ...defaultStoreLimits };
  for (const [name, value] of Object.entries(overrides) as [keyof StoreLimits, unknown][]) {
    if (value === undefined) continue;
    if (!(name in defaultStoreLimits)) throw new LifeboatError('USAGE', `Unknown store limit "${name}"`);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new LifeboatError('USAGE', `Store limit ${name} must be a whole number of at least 1, got ${String(value)}`);
    }
    limits[name] = value;
  }
  return limits;
}

export function putRun(state: StateFile, run: RunRecord, limits: StoreLimits): void {
  upsert(state.runs, run, (r) => r.id === run.id);
  state.runs = keepNewest(state.runs, (r) => r.runbook === run.runbook, (r) => r.startedAt, limits.runsPerRunbook);
}

export function putDrill(state: StateFile, drill: DrillRecord, limits: StoreLimits): void {
  upsert(state.drills, drill, (d) => d.id === drill.id);
  state.drills = keepNewest(state.drills, (d) => d.runbook === drill.runbook, (d) => d.startedAt, limits.drillsPerRunbook);
}

export function putAlert(state: StateFile, alert: AlertRecord, deliveries: readonly DeliveryRecord[], limits: StoreLimits, options: PutAlertOptions = {}): boolean {
  if (options.ifStored !== undefined) {
    const stored = state.alerts.find((a) => a.key === alert.key);
    // Records are plain JSON read back from the store, so equal records serialize alike.
    if (JSON.stringify(stored ?? null) !== JSON.stringify(options.ifStored)) return false;
  }
  upsert(state.alerts, alert, (a) => a.key === alert.key);
  // Open alerts are never dropped: an unresolved problem must not vanish because history is full.
  state.alerts = keepNewest(state.alerts, (a) => a.status === 'resolved', resolvedTime, limits.resolvedAlerts);
  if (deliveries.length === 0) return true;
  // Numbered here, under the store's lock, so concurrent writers of one alert never share a number.
  const seq = 1 + Math.max(0, ...state.deliveries.filter((d) => d.alertKey === alert.key).map((d) => d.seq));
  for (const d of deliveries) {
    // A delivery once written belongs to the outbox: a retried write must not reset one already tried or sent.
    if (!state.deliveries.some((e) => e.id === d.id)) state.deliveries.push({ ...d, seq });
  }
  boundDeliveries(state, limits);
  return true;
}

export function claimDeliveries(state: StateFile, options: ClaimOptions): ClaimedDelivery[] {
  const until = new Date(options.now.getTime() + options.leaseMs).toISOString();
  return dueDeliveries(state, options)
    .slice(0, options.limit)
    .map((d) => {
      d.claimedBy = options.owner;
      d.claimUntil = until;
      const previous = previousReceipt(state, d);
      return plain({ ...d, ...(previous ? { previous } : {}) });
    });
}

/** Returns false, changing nothing, unless `owner` holds the delivery's claim. */
export function finishDelivery(state: StateFile, id: string, owner: string, result: DeliveryResult, limits: StoreLimits): boolean {
  const d = state.deliveries.find((e) => e.id === id);
  // A claim that was already finished (no claimUntil) cannot be finished twice.
  if (d === undefined || d.status !== 'pending' || d.claimedBy !== owner || d.claimUntil === undefined) return false;
  d.attempts += 1;
  d.lastAttemptAt = result.at.toISOString();
  // claimedBy stays: it says which process made the last attempt (and, delivered, who sent it).
  delete d.claimUntil;
  if (result.ok) {
    d.status = 'delivered';
    d.deliveredAt = result.at.toISOString();
    if (result.receipt !== undefined) d.receipt = { ...result.receipt };
  } else {
    d.lastError = result.error;
    if (result.permanent) d.status = 'failed';
    else d.nextAttemptAt = result.nextAttemptAt.toISOString();
  }
  boundDeliveries(state, limits);
  return true;
}

/** Whether claimDeliveries would find anything, without changing the state (a cheap look before taking a lock). */
export function hasDueDeliveries(state: StateFile, options: Pick<ClaimOptions, 'sinks' | 'now'>): boolean {
  return dueDeliveries(state, options).length > 0;
}

/** Due, oldest first. Only the head of each (alert, sink) queue may go: one alert's messages reach a sink in order. */
function dueDeliveries(state: StateFile, options: Pick<ClaimOptions, 'sinks' | 'now'>): DeliveryRecord[] {
  const now = options.now.getTime();
  const sinks = new Set(options.sinks);
  const heads = new Map<string, DeliveryRecord>();
  for (const d of state.deliveries) {
    if (d.status !== 'pending' || !sinks.has(d.sink)) continue;
    const head = heads.get(queueOf(d));
    if (head === undefined || d.seq < head.seq) heads.set(queueOf(d), d);
  }
  return [...heads.values()]
    .filter((d) => instant(d.nextAttemptAt) <= now && (d.claimUntil === undefined || instant(d.claimUntil) <= now))
    .sort((a, b) => instant(a.nextAttemptAt) - instant(b.nextAttemptAt) || instant(a.createdAt) - instant(b.createdAt));
}

export function listDeliveries(state: StateFile, options: DeliveryListOptions = {}): DeliveryRecord[] {
  const matching = state.deliveries.filter(byRunbook(options)).filter((d) => options.status === undefined || d.status === options.status);
  return take(newestFirst(matching, (d) => d.createdAt), options.limit);
}

/** Appending an id that is already there replaces it, so a retried append does not duplicate. */
export function appendAudit(state: StateFile, entry: AuditRecord, limits: StoreLimits): void {
  upsert(state.audit, entry, (e) => e.id === entry.id);
  state.audit = keepNewest(state.audit, () => true, (e) => e.at, limits.auditEntries);
}

export function getRun(state: StateFile, id: string): RunRecord | undefined {
  return state.runs.find((r) => r.id === id);
}

export function getAlert(state: StateFile, key: string): AlertRecord | undefined {
  return state.alerts.find((a) => a.key === key);
}

export function listRuns(state: StateFile, options: RunListOptions = {}): RunRecord[] {
  const since = endedSince(options);
  const matching = state.runs
    .filter(byRunbook(options))
    .filter((r) => (options.kind === undefined || r.kind === options.kind) && (options.status === undefined || options.status.includes(r.status)))
    .filter((r) => since === undefined || instant(r.endedAt ?? r.startedAt) >= since);
  const timeOf = options.newestBy === 'end' ? (r: RunRecord) => r.endedAt ?? r.startedAt : (r: RunRecord) => r.startedAt;
  return take(perRunbook(newestFirst(matching, timeOf), options.perRunbook), options.limit);
}

export function listDrills(state: StateFile, options: DrillListOptions = {}): DrillRecord[] {
  const since = endedSince(options);
  const matching = state.drills
    .filter(byRunbook(options))
    .filter((d) => (options.tier === undefined || d.tier === options.tier) && (options.verdict === undefined || options.verdict.includes(d.verdict)))
    .filter((d) => since === undefined || instant(d.endedAt ?? d.startedAt) >= since);
  return take(perRunbook(newestFirst(matching, (d) => d.startedAt), options.perRunbook), options.limit);
}

export function listAlerts(state: StateFile, options: AlertListOptions = {}): AlertRecord[] {
  const matching = state.alerts.filter(byRunbook(options)).filter((a) => options.status === undefined || a.status === options.status);
  return take(perRunbook(newestFirst(matching, (a) => a.lastSeen), options.perRunbook), options.limit);
}

export function listAudit(state: StateFile, options: AuditListOptions = {}): AuditRecord[] {
  const since = sinceInstant(options.since, 'since');
  const matching = state.audit.filter(
    (e) =>
      (options.runbook === undefined || e.runbook === options.runbook) &&
      (options.user === undefined || e.actor.user === options.user) &&
      (since === undefined || instant(e.at) >= since),
  );
  return take(newestFirst(matching, (e) => e.at), options.limit);
}

function queueOf(d: DeliveryRecord): string {
  return `${d.alertKey}\u0000${d.sink}`;
}

/** What the sink answered last for this alert (the same raising of it: same firstSeen), e.g. the Slack message to update. */
function previousReceipt(state: StateFile, d: DeliveryRecord): DeliveryReceipt | undefined {
  let best: DeliveryRecord | undefined;
  for (const e of state.deliveries) {
    if (e.status !== 'delivered' || e.receipt === undefined || queueOf(e) !== queueOf(d) || e.seq >= d.seq) continue;
    if (e.alert.firstSeen !== d.alert.firstSeen) continue;
    if (best === undefined || e.seq > best.seq) best = e;
  }
  return best?.receipt;
}

/** Pending deliveries are never dropped: a message owed to someone must not vanish because history is full. */
function boundDeliveries(state: StateFile, limits: StoreLimits): void {
  state.deliveries = keepNewest(state.deliveries, (d) => d.status !== 'pending', (d) => d.deliveredAt ?? d.lastAttemptAt ?? d.createdAt, limits.deliveries);
}

function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function resolvedTime(a: AlertRecord): string {
  return a.resolvedAt ?? a.lastSeen;
}

function byRunbook(options: ListOptions): (r: { runbook: string }) => boolean {
  const among = options.runbooks === undefined ? undefined : new Set(options.runbooks);
  return (r) => (options.runbook === undefined || r.runbook === options.runbook) && (among === undefined || among.has(r.runbook));
}

function upsert<T>(list: T[], item: T, same: (t: T) => boolean): void {
  const i = list.findIndex(same);
  if (i === -1) list.push(item);
  else list[i] = item;
}

/**
 * Timestamps are compared as instants, not strings: "…00Z" and "…00.500Z" sort
 * wrongly as text. An unparseable one counts as oldest, so it is dropped first.
 */
function instant(iso: string): number {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? -Infinity : ms;
}

function newestFirst<T>(list: readonly T[], timeOf: (t: T) => string): T[] {
  return list
    .map((item, index) => ({ item, index, at: instant(timeOf(item)) }))
    .sort((a, b) => (a.at === b.at ? b.index - a.index : b.at > a.at ? 1 : -1))
    .map((e) => e.item);
}

/** Keeps every record outside `group`, and the newest `limit` inside it, in their stored order. */
function keepNewest<T>(list: T[], group: (t: T) => boolean, timeOf: (t: T) => string, limit: number): T[] {
  const members = list.filter(group);
  if (members.length <= limit) return list;
  const dropped = new Set(newestFirst(members, timeOf).slice(limit));
  return list.filter((t) => !dropped.has(t));
}

/** The first `limit` records of each runbook in a newest-first list, in the list's order. */
function perRunbook<T extends { runbook: string }>(list: T[], limit: number | undefined): T[] {
  if (limit === undefined) return list;
  checkLimit(limit);
  const seen = new Map<string, number>();
  return list.filter((r) => {
    const n = seen.get(r.runbook) ?? 0;
    seen.set(r.runbook, n + 1);
    return n < limit;
  });
}

/** `endedSince` as an instant; one that does not parse is refused rather than read as "everything". */
function endedSince(options: { endedSince?: string }): number | undefined {
  return sinceInstant(options.endedSince, 'endedSince');
}

function sinceInstant(iso: string | undefined, name: string): number | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new LifeboatError('USAGE', `${name} must be an ISO time, got "${iso}"`);
  return ms;
}

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 0) {
    throw new LifeboatError('USAGE', `A list limit must be a whole number of at least 0, got ${String(limit)}`);
  }
}

function take<T>(list: T[], limit: number | undefined): T[] {
  if (limit === undefined) return list;
  checkLimit(limit);
  return list.slice(0, limit);
}
