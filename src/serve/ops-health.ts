/** What /healthz answers, and the one-line error text both routes use. */
import { isStoreUnreachable, type Store } from '../core/index.js';

export interface HealthReport {
  /** False makes /healthz answer 503. */
  ok: boolean;
  /** Why serve is not fit to work, one line each: "store unreadable: …", "shutting down", "scheduler stopped". */
  reasons?: readonly string[];
  /** Extra facts for the JSON body (uptime, runbooks loaded, jobs running). Never secrets. */
  details?: Record<string, unknown>;
}

/** `{status:'ok'}` or `{status:'unhealthy', reasons:[…]}`, with the details alongside (they cannot replace status or reasons). */
export function healthBody(report: HealthReport): Record<string, unknown> {
  const reasons = [...(report.reasons ?? [])];
  if (!report.ok && reasons.length === 0) reasons.push('unhealthy (no reason given)');
  return { ...report.details, status: report.ok ? 'ok' : 'unhealthy', ...(reasons.length > 0 ? { reasons } : {}) };
}

/**
 * A reason when the store cannot be read (missing, damaged, unreadable), else
 * undefined: the check the daemon's health() will want first, since every
 * scheduled run and every metric goes through the store.
 *
 * A PostgreSQL store that does not answer says so itself, as "state store
 * unreachable: host:port/database (why); … spooled to <path> …"
 * (store/spool/unreachable.ts): that line is the reason as it is. The read
 * also replays the spool once the store is back (spool/spooling-store.ts),
 * so a probe of /healthz helps it catch up; while it is down the store answers
 * at once, without waiting on a connection timeout per probe.
 */
export async function storeUnreadableReason(store: () => Promise<Store>): Promise<string | undefined> {
  try {
    await (await store()).listRuns({ limit: 1 });
    return undefined;
  } catch (e) {
    if (isStoreUnreachable(e)) return firstLine(e);
    return `store unreadable: ${firstLine(e)}`;
  }
}

/** The first line of an error's message: a response body or a health reason must stay one line. */
export function firstLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return (message.split('\n', 1)[0] ?? '').trim() || (e instanceof Error ? e.name : 'unknown error');
}
