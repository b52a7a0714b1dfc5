/**
 * What several `lifeboat serve` processes on one PostgreSQL store agree on:
 * who leads (the `leases` row 'serve-leader') and which cron fires have been
 * handled (`schedule_state`). Its own small pool, apart from the store's, so
 * a renewal never queues behind a slow history query.
 *
 * A fire is marked handled in one statement that also checks, under a share
 * lock on the lease row, that the marking term still holds the lease: a
 * takeover (which updates that row) waits for a mark in flight to commit, and
 * a mark after the takeover finds the row changed and writes nothing. The new
 * leader reads the schedule state only after its takeover committed, so it
 * sees every mark of the old term and runs none of those fires again.
 */
import type pg from 'pg';
import type { LeaderLease, LeaderTerm, LeaseAnswer } from '../../schedule/leadership.js';
import { scheduleKinds, type ScheduleKind } from '../../schedule/job.js';
import type { ScheduleState } from '../../schedule/state.js';
import { describeUrl } from './migrations.js';
import { openPool } from './pool.js';

export const SERVE_LEADER_LEASE = 'serve-leader';

export class PostgresCoordination implements LeaderLease {
  readonly where: string;

  private constructor(
    private readonly pool: pg.Pool,
    url: string,
    private readonly onMarkError: (e: unknown) => void,
  ) {
    this.where = describeUrl(url);
  }

  /**
   * `queryTimeoutMs` bounds every statement: a store that hangs makes a
   * renewal fail (and the leader step down in time) instead of waiting forever.
   */
  static async open(url: string, options: { queryTimeoutMs: number; onMarkError(e: unknown): void }): Promise<PostgresCoordination> {
    // A renewal that fails (a dropped connection, a timeout) makes the leader step down in time, never serve die.
    const pool = await openPool({ connectionString: url, max: 2, connectionTimeoutMillis: options.queryTimeoutMs, query_timeout: options.queryTimeoutMs, keepAlive: true });
    return new PostgresCoordination(pool, url, options.onMarkError);
  }

  async acquire(holder: string, ttlMs: number): Promise<LeaseAnswer> {
    // Same holder, not lapsed: a renewal (same epoch). Free or lapsed: a new term (epoch + 1).
    const taken = await this.pool.query<{ epoch: string }>(
      `INSERT INTO leases AS l (name, holder, epoch, acquired_at, expires_at)
         VALUES ($1, $2, 1, now(), now() + $3 * interval '1 millisecond')
       ON CONFLICT (name) DO UPDATE SET
         holder = EXCLUDED.holder,
         epoch = CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at > now() THEN l.epoch ELSE l.epoch + 1 END,
         acquired_at = CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at > now() THEN l.acquired_at ELSE now() END,
         expires_at = EXCLUDED.expires_at
       WHERE l.holder = EXCLUDED.holder OR l.expires_at <= now()
       RETURNING epoch`,
      [SERVE_LEADER_LEASE, holder, ttlMs],
    );
    const row = taken.rows[0];
    if (row) return { term: { holder, epoch: Number(row.epoch) } };
    const held = await this.pool.query<{ holder: string; expires_at: Date }>('SELECT holder, expires_at FROM leases WHERE name = $1', [SERVE_LEADER_LEASE]);
    const other = held.rows[0];
    return other ? { leader: { holder: other.holder, expiresAt: other.expires_at } } : {};
  }

  async release(holder: string): Promise<void> {
    // Lapsed, not deleted: the row keeps the epoch, so the next term's is still higher.
    await this.pool.query('UPDATE leases SET expires_at = now() WHERE name = $1 AND holder = $2 AND expires_at > now()', [SERVE_LEADER_LEASE, holder]);
  }

  async scheduleState(term: LeaderTerm): Promise<ScheduleState> {
    const rows = await this.pool.query<{ runbook: string; kind: string; last_handled: Date }>('SELECT runbook, kind, last_handled FROM schedule_state');
    const handled = new Map<string, Date>();
    for (const r of rows.rows) if ((scheduleKinds as readonly string[]).includes(r.kind)) handled.set(key(r.runbook, r.kind as ScheduleKind), r.last_handled);
    const pool = this.pool;
    const onMarkError = this.onMarkError;
    return {
      lastHandled: (runbook, kind) => handled.get(key(runbook, kind)),
      async markHandled(runbook, kind, scheduledAt) {
        try {
          const res = await pool.query(
            `WITH lease AS (
               SELECT 1 FROM leases WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > now() FOR SHARE
             )
             INSERT INTO schedule_state AS s (runbook, kind, last_handled, handled_by, epoch)
               SELECT $4, $5, $6, $2, $3 FROM lease
             ON CONFLICT (runbook, kind) DO UPDATE SET last_handled = EXCLUDED.last_handled, handled_by = EXCLUDED.handled_by, epoch = EXCLUDED.epoch
               WHERE s.last_handled < EXCLUDED.last_handled
             RETURNING 1`,
            [SERVE_LEADER_LEASE, term.holder, term.epoch, runbook, kind, scheduledAt],
          );
          const ours = (res.rowCount ?? 0) > 0;
          if (ours) handled.set(key(runbook, kind), scheduledAt);
          return ours;
        } catch (e) {
          // Not claimed, so not run here: the fire stays unhandled for whoever leads when the store answers.
          onMarkError(e);
          return false;
        }
      },
      // The fires due at one instant in one statement (serve's claims, src/serve/paced-claims.ts): one lease check under
      // the same share lock, so a takeover waits for the whole batch or finds none of it. A key twice in one
      // INSERT … ON CONFLICT is refused, so repeated keys go in a later statement.
      async markHandledAll(fires) {
        const answers: boolean[] = new Array<boolean>(fires.length).fill(false);
        let left = fires.map((f, i) => ({ ...f, i }));
        try {
          while (left.length > 0) {
            // One fire per key in this statement; a key's repeats wait for the next.
            const seen = new Set<string>();
            const now: typeof left = [];
            const later: typeof left = [];
            for (const f of left) {
              const k = key(f.runbook, f.kind);
              (seen.has(k) ? later : now).push(f);
              seen.add(k);
            }
            left = later;
            const res = await pool.query<{ runbook: string; kind: string }>(
              `WITH lease AS (
                 SELECT 1 FROM leases WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > now() FOR SHARE
               )
               INSERT INTO schedule_state AS s (runbook, kind, last_handled, handled_by, epoch)
                 SELECT f.runbook, f.kind, f.at, $2, $3 FROM unnest($4::text[], $5::text[], $6::timestamptz[]) AS f(runbook, kind, at), lease
               ON CONFLICT (runbook, kind) DO UPDATE SET last_handled = EXCLUDED.last_handled, handled_by = EXCLUDED.handled_by, epoch = EXCLUDED.epoch
                 WHERE s.last_handled < EXCLUDED.last_handled
               RETURNING s.runbook, s.kind`,
              [SERVE_LEADER_LEASE, term.holder, term.epoch, now.map((f) => f.runbook), now.map((f) => f.kind), now.map((f) => f.scheduledAt.toISOString())],
            );
            const ours = new Set(res.rows.map((r) => key(r.runbook, r.kind as ScheduleKind)));
            for (const f of now) {
              if (!ours.has(key(f.runbook, f.kind))) continue;
              answers[f.i] = true;
              handled.set(key(f.runbook, f.kind), f.scheduledAt);
            }
          }
          return answers;
        } catch (e) {
          // As markHandled: fires not claimed stay unhandled for whoever leads when the store answers (a statement that committed before the error keeps its answers).
          onMarkError(e);
          return answers;
        }
      },
    };
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}

const key = (runbook: string, kind: ScheduleKind) => `${runbook}\u0000${kind}`;
