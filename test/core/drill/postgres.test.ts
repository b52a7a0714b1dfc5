/**
 * A real database drill (issue 6, deliverable 5): a PostgreSQL cluster of the
 * test's own (initdb + pg_ctl in a temp folder, 127.0.0.1 on a free port, run
 * as a non-root user), a database `orders` with a few thousand rows, backed up
 * as a `pg_dump --format=custom` stream source. `lifeboat restore-drill` pipes
 * the restored dump into `pg_restore` into a fresh database `orders_drill`, and
 * `drill.check` compares the row counts of both with psql. The drill is `met`
 * with its RTO in the store; a check that expects other counts makes it `failed`.
 *
 * Needs Debian's `postgresql` package, which .ci/run installs; skipped with the
 * reason only when it is missing and cannot be installed.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDuration } from '../../../src/core/format.js';
import { ensureCliBuilt, runCli } from '../../helpers/cli.js';
import { postgresAvailable, startPostgres, type PostgresAvailability, type PostgresCluster } from '../../helpers/drill-postgres.js';
import { drillsOf, rtoPhases, runDrillCli, scratchLeft, writeDrillRunbook } from '../../helpers/drill-runbook.js';
import { PIPELINE_PASSWORD } from '../../helpers/pipeline-runbook.js';
import { skipWithoutTool } from '../../helpers/required-tool.js';

const ORDERS = 5000;
const CUSTOMERS = 300;
/** One line per database, `<orders> orders, <customers> customers`. */
const COUNTS = "SELECT (SELECT count(*) FROM orders) || ' orders, ' || (SELECT count(*) FROM customers) || ' customers'";

let state: PostgresAvailability = { ok: false, why: 'not probed' };
let base: string | undefined;
let pg: PostgresCluster | undefined;

beforeAll(async () => {
  state = postgresAvailable();
  if (!state.ok) {
    console.warn(`SKIPPING test/core/drill/postgres.test.ts: ${state.why}`);
    return;
  }
  await ensureCliBuilt();
  base = await mkdtemp(join(tmpdir(), 'lifeboat-drill-pg-'));
  pg = await startPostgres(state.bin, base);
  pg.sql('postgres', 'CREATE DATABASE orders');
  pg.sql(
    'orders',
    [
      'CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);',
      'CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL REFERENCES customers(id), amount numeric(10,2) NOT NULL, note text, created_at timestamptz NOT NULL);',
      `INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, ${CUSTOMERS}) g;`,
      `INSERT INTO orders SELECT g, 1 + g % ${CUSTOMERS}, (g * 7919 % 100000) / 100.0, CASE WHEN g % 7 = 0 THEN 'O''Brien ü€' || chr(10) || g END, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute' FROM generate_series(1, ${ORDERS}) g;`,
      'CREATE INDEX orders_by_customer ON orders (customer_id);',
    ].join('\n'),
  );
  expect(pg.sql('orders', COUNTS).trim()).toBe(`${ORDERS} orders, ${CUSTOMERS} customers`);
}, 360_000);

afterAll(async () => {
  try {
    pg?.stop();
  } finally {
    if (base) await rm(base, { recursive: true, force: true });
  }
}, 60_000);

/** The runbook `orders` in `<base>/<tag>/`: the database as a stream source, restored into orders_drill, checked with `check`. */
async function ordersRunbook(tag: string, check: string): Promise<string> {
  const dir = join(base!, tag);
  await mkdir(dir, { recursive: true });
  return writeDrillRunbook(dir, 'orders', {
    repo: join(base!, 'repo'),
    sources: [
      {
        name: 'orders-db',
        command: `${join(pg!.bin, 'pg_dump')} --format=custom ${pg!.connection} orders`,
        restore: `${join(pg!.bin, 'pg_restore')} --clean --if-exists --no-owner ${pg!.connection} -d orders_drill`,
      },
    ],
    rto: '15m',
    check,
    timeout: '60s',
  });
}

/** Compares the live database with the drill's: prints both, exits 1 when they differ (3 when a query fails). */
function compareCounts(expectDrill = '"$live"'): string {
  const psql = pg!.psqlCommand;
  return [
    `q="${COUNTS}"`,
    `live=$(${psql} -d orders -c "$q") && drill=$(${psql} -d orders_drill -c "$q") || exit 3`,
    'echo "orders: $live; orders_drill: $drill"',
    `test -n "$drill" && test "$drill" = ${expectDrill}`,
  ].join('\n');
}

describe('a PostgreSQL database drilled with pg_dump / pg_restore', () => {
  it('backup → restore-drill into a fresh orders_drill: verdict met, the rows are there, the RTO is in the store; a wrong expectation fails it', async (ctx) => {
    skipWithoutTool(ctx, 'PostgreSQL', state);
    const home = join(base!, 'home');
    const env = { LIFEBOAT_PASSWORD: PIPELINE_PASSWORD, LIFEBOAT_HOME: home };

    const runbook = await ordersRunbook('good', compareCounts());
    expect((await runCli(['init', runbook], { env })).code).toBe(0);
    const backup = await runCli(['backup', runbook], { env });
    expect(backup.code, backup.stdout + backup.stderr).toBe(0);

    // A fresh, empty database for the drill to restore into.
    pg!.sql('postgres', 'CREATE DATABASE orders_drill');
    expect(pg!.sql('orders_drill', "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").trim()).toBe('0');

    const good = await runDrillCli([runbook], env);
    expect(good.code, good.stdout + good.stderr).toBe(0);
    expect(good.drill.verdict, good.drill.reason).toBe('met');
    expect(good.drill.phases.map((p) => p.name)).toEqual(['plan', 'fetch', 'write', 'validate', 'cleanup']);
    const { sumMs } = rtoPhases(good.drill);
    expect(Math.abs(good.drill.rtoMs! - sumMs)).toBeLessThanOrEqual(3);
    // The dump went through pg_restore: orders_drill now holds the same rows, constraints included.
    expect(pg!.sql('orders_drill', COUNTS).trim()).toBe(`${ORDERS} orders, ${CUSTOMERS} customers`);
    const sums = "SELECT sum(amount), count(note), max(created_at) FROM orders";
    expect(pg!.sql('orders_drill', sums)).toBe(pg!.sql('orders', sums));
    expect(pg!.sql('orders_drill', "SELECT count(*) FROM pg_constraint WHERE conname = 'orders_customer_id_fkey'").trim()).toBe('1');
    expect(await scratchLeft(home)).toEqual([]);

    const [stored] = await drillsOf(home, 'orders');
    expect(stored).toEqual(good.drill);
    expect(stored!.rtoMs).toBeGreaterThan(0);
    const write = stored!.phases.find((p) => p.name === 'write')!;
    expect(write.bytes).toBeGreaterThan(10_000);
    console.info(
      `postgres drill: RTO ${formatDuration(stored!.rtoMs)} (target ${formatDuration(stored!.targetMs)}); ` +
        stored!.phases.map((p) => `${p.name} ${p.durationMs}ms${p.bytes !== undefined ? ` ${p.bytes} B` : ''}`).join(', '),
    );

    // Sabotage: the check expects one order more than the snapshot holds.
    const wrong = await ordersRunbook('wrong', compareCounts(`"${ORDERS + 1} orders, ${CUSTOMERS} customers"`));
    const bad = await runDrillCli([wrong], env);
    expect(bad.code, bad.stdout + bad.stderr).toBe(1);
    expect(bad.drill.verdict).toBe('failed');
    expect(bad.drill.reason).toContain('failed (exit 1)');
    expect(bad.drill.reason).toContain(`orders: ${ORDERS} orders, ${CUSTOMERS} customers; orders_drill: ${ORDERS} orders, ${CUSTOMERS} customers`);
    expect(await scratchLeft(home)).toEqual([]);

    const drills = await drillsOf(home, 'orders');
    expect(drills.map((d) => d.verdict)).toEqual(['failed', 'met']);
    const status = await runCli(['status', '--json'], { env: { ...env, LIFEBOAT_RUNBOOKS: join(base!, 'good') } });
    expect(status.code, status.stderr).toBe(0);
    const entry = (JSON.parse(status.stdout) as { data: { runbook: string; lastDrill?: { id: string; verdict: string } }[] }).data.find((e) => e.runbook === 'orders');
    expect(entry?.lastDrill?.id).toBe(bad.drill.id);
  });
});
