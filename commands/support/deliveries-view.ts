/**
 * `lifeboat alerts --deliveries`: the outbox as an operator reads it — what
 * is still owed to whom (pending, first), what arrived, what was given up,
 * with the attempts and the last error (which names the sink and its host).
 */
import { ago, compactDuration, type DeliveryRecord } from '../../src/core/index.js';
import type { CommandResult, Table } from '../command.js';

export type DeliveryStatus = DeliveryRecord['status'];
export const deliveryStatuses: readonly DeliveryStatus[] = ['pending', 'delivered', 'failed'];

/** Delivered and failed ones shown at most (pending ones are all shown: they are what needs attention). */
export const SETTLED_SHOWN = 50;

export function deliveriesTable(all: readonly DeliveryRecord[], now: Date): { table: Table; shown: DeliveryRecord[] } {
  const pending = all
    .filter((d) => d.status === 'pending')
    .sort((a, b) => Date.parse(a.nextAttemptAt) - Date.parse(b.nextAttemptAt) || a.alertKey.localeCompare(b.alertKey) || a.seq - b.seq || a.sink.localeCompare(b.sink));
  const settled = all.filter((d) => d.status !== 'pending').slice(0, SETTLED_SHOWN);
  const shown = [...pending, ...settled];
  return {
    shown,
    table: {
      columns: [
        { key: 'alert', header: 'ALERT' },
        { key: 'transition', header: 'TRANSITION' },
        { key: 'sink', header: 'SINK' },
        { key: 'status', header: 'STATUS' },
        { key: 'attempts', header: 'ATTEMPTS', align: 'right' },
        { key: 'when', header: 'NEXT / DONE' },
        { key: 'error', header: 'LAST ERROR' },
      ],
      rows: shown.map((d) => ({
        alert: d.alertKey,
        transition: d.transition,
        sink: d.sink,
        status: d.status,
        attempts: String(d.attempts),
        when: when(d, now),
        error: d.lastError ?? '—',
      })),
    },
  };
}

/** Pending: when it is tried next (or who is trying it); settled: when it arrived or was given up. */
function when(d: DeliveryRecord, now: Date): string {
  if (d.status === 'delivered') return `delivered ${ago(d.deliveredAt, now)}`;
  if (d.status === 'failed') return `gave up ${ago(d.lastAttemptAt, now)}`;
  if (d.claimUntil !== undefined && Date.parse(d.claimUntil) > now.getTime()) return `sending (${d.claimedBy ?? '?'})`;
  const wait = Date.parse(d.nextAttemptAt) - now.getTime();
  return wait > 0 ? `next in ${compactDuration(wait)}` : 'due now';
}

export function deliveriesSummary(all: readonly DeliveryRecord[], shown: number, scope: string): string {
  const n = (s: DeliveryStatus) => all.filter((d) => d.status === s).length;
  if (all.length === 0) return `no alert deliveries${scope}`;
  const parts = deliveryStatuses.map((s) => `${n(s)} ${s}`).join(', ');
  return `alert deliveries${scope}: ${parts}${shown < all.length ? ` (showing every pending one and the latest ${SETTLED_SHOWN} others)` : ''}`;
}

export function deliveriesResult(all: readonly DeliveryRecord[], now: Date, scope: string): Pick<CommandResult, 'summary' | 'table' | 'data'> {
  const { table, shown } = deliveriesTable(all, now);
  return { summary: deliveriesSummary(all, shown.length, scope), table, data: shown };
}
