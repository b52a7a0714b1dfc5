/**
 * A stream source from a real database (issue 5, "Must show" 2): `sqlite3 db
 * .dump` backed up, the snapshot restored with the CLI, the dump piped into the
 * runbook's `restore` command, and the restored database answers like the
 * original. Needs the Debian package sqlite3, which .ci/run installs.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt, runCli } from '../../helpers/cli.js';
import { runsOf } from '../../helpers/pipeline-process.js';
import { pipelineEnv, writePipelineRunbook } from '../../helpers/pipeline-runbook.js';
import { skipWithoutTool } from '../../helpers/required-tool.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';

const tempDir = useTempDirs('pipeline-sqlite');

const hasSqlite = () => spawnSync('sh', ['-c', 'command -v sqlite3'], { encoding: 'utf8' }).status === 0;

/**
 * sqlite3 if it is there; otherwise one quiet attempt to install Debian's
 * package when we may (root, apt-get present), as .ci/run does.
 */
function sqliteAvailable(): { ok: true } | { ok: false; why: string } {
  if (hasSqlite()) return { ok: true };
  const root = process.getuid?.() === 0;
  const apt = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status === 0;
  if (!root || !apt) return { ok: false, why: `sqlite3 is not installed and cannot be installed here (${root ? 'no apt-get' : 'not root'}); .ci/run installs the Debian package sqlite3` };
  const res = spawnSync('sh', ['-c', 'apt-get update -qq && apt-get install -y -qq --no-install-recommends sqlite3'], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (res.status === 0 && hasSqlite()) return { ok: true };
  return { ok: false, why: `sqlite3 is not installed and apt-get could not install it (exit ${res.status}): ${(res.stderr || '').trim().split('\n').slice(-3).join(' / ')}` };
}

function sqlite(db: string, sql: string, cwd: string): string {
  const res = spawnSync('sqlite3', [db, sql], { cwd, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`sqlite3 ${db} failed (${res.status}): ${res.stderr}`);
  return res.stdout;
}

const query = "SELECT count(*), sum(amount), sum(length(payload)), count(DISTINCT name) FROM orders WHERE name LIKE '%O''Brien' || char(10) || 'ü€';";

let sqliteState: ReturnType<typeof sqliteAvailable> = { ok: false, why: 'not probed' };

beforeAll(async () => {
  sqliteState = sqliteAvailable();
  if (!sqliteState.ok) console.warn(`SKIPPING test/core/pipeline/sqlite.test.ts: ${sqliteState.why}`);
  await ensureCliBuilt();
}, 180_000);

describe('a SQLite database as a stream source', () => {
  it('backs up `sqlite3 db.sqlite .dump`; the restored dump piped into `restore: sqlite3 new.db` answers the same query', async (ctx) => {
    skipWithoutTool(ctx, 'sqlite3', sqliteState);
    const base = await tempDir();
    sqlite(
      'db.sqlite',
      [
        'CREATE TABLE orders (id INTEGER PRIMARY KEY, name TEXT NOT NULL, amount INTEGER NOT NULL, payload BLOB);',
        'CREATE INDEX orders_by_name ON orders(name);',
        // 500 rows; names with quotes, newlines and non-ASCII, and binary blobs: what a dump must carry intact.
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 500) INSERT INTO orders SELECT x, 'order ' || x || ' O''Brien' || char(10) || 'ü€', (x * 7919) % 1009, randomblob(x % 64) FROM n;",
      ].join('\n'),
      base,
    );
    const expected = sqlite('db.sqlite', query, base);
    expect(expected).toMatch(/^500\|\d+\|\d+\|500\n$/);

    const runbook = writePipelineRunbook(base, 'orders', {
      repo: join(base, 'repo'),
      sources: [{ name: 'orders-db', command: 'sqlite3 db.sqlite .dump', restore: 'sqlite3 new.db' }],
    });
    const env = pipelineEnv(join(base, 'home'));
    expect((await runCli(['init', runbook], { env })).code).toBe(0);
    const backup = await runCli(['backup', runbook], { env });
    expect(backup.code, backup.stdout + backup.stderr).toBe(0);
    const [run] = await runsOf(join(base, 'home'), 'orders');
    expect(run!.status).toBe('succeeded');

    const target = join(base, 'restored');
    const restore = await runCli(['restore', runbook, run!.snapshotId!, '--target', target], { env });
    expect(restore.code, restore.stdout + restore.stderr).toBe(0);
    const dump = await readFile(join(target, 'orders-db'));
    expect(dump.toString('utf8')).toBe(sqlite('db.sqlite', '.dump', base));

    // The runbook's own restore command, run as a restore would: in a fresh folder, the dump on its stdin.
    const drill = join(base, 'drill');
    await mkdir(drill);
    const piped = spawnSync('/bin/sh', ['-c', 'sqlite3 new.db'], { cwd: drill, input: dump, encoding: 'utf8' });
    expect(piped.status, piped.stderr).toBe(0);
    expect(sqlite('new.db', query, drill)).toBe(expected);
    expect(sqlite('new.db', 'PRAGMA integrity_check;', drill)).toBe('ok\n');
    // Row for row, blobs included: the restored database dumps exactly like the original.
    expect(sqlite('new.db', '.dump', drill)).toBe(sqlite('db.sqlite', '.dump', base));
  });
});
