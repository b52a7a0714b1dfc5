/**
 * What the fleet bench (bench/fleet.ts) found slow, each on real PostgreSQL:
 *
 * - an agent runs jobs of different runbooks side by side (--jobs), and never
 *   two of one runbook at once: runbooks p and q each hold their backup in a
 *   before hook until the other has started (one at a time, neither would
 *   ever finish); a second job of p queued meanwhile stays queued until p's
 *   first ends;
 * - a process's dispatches share one queue and LISTEN connection
 *   (shared-fleet-link.ts): opened once for several users, closed with the
 *   last one, or kept while a serve keeps links open.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { acquireFleetLink, closeFleetLinks, FleetQueue, keepFleetLinksOpen, openFleetLinks, sha256Hex, type FleetJob } from '../../src/core/index.js';
import { startAgent, type AgentProcess } from '../helpers/agent-process.js';
import { runCli } from '../helpers/cli.js';
import { skipWithoutTool } from '../helpers/required-tool.js';
import { useLifeboatPostgres } from '../helpers/serve-postgres.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('fleet-agent-jobs');
const pg = useLifeboatPostgres(tempDir);
const PASSWORD = 'agent-jobs-5e0a';

let root = '';
let agent: AgentProcess | undefined;

const env = (): Record<string, string> => ({
  LIFEBOAT_STORE_URL: pg.url(),
  LIFEBOAT_HOME: join(root, 'j', 'home'),
  LIFEBOAT_RUNBOOKS: join(root, 'console', 'runbooks'),
  LIFEBOAT_PASSWORD: PASSWORD,
  LIFEBOAT_HOST: 'j',
});

const marker = (name: string) => join(root, `${name}.started`);
/** Releases p's hook even when q never starts (a failing run must not hang the file). */
const giveUp = () => join(root, 'give-up');

async function writeRunbook(name: string, other: string): Promise<void> {
  await mkdir(join(root, 'data', name), { recursive: true });
  await writeFile(join(root, 'data', name, 'f.txt'), `${name}\n`);
  const doc = {
    name,
    host: 'j',
    sources: [{ name: 'files', path: join(root, 'data', name) }],
    repository: { hot: { url: `file://${join(root, 'j', `repo-${name}`)}` }, password: { env: 'LIFEBOAT_PASSWORD' } },
    objectives: { rpo: '26h', rto: '5m' },
    // Says it started, then waits for the other runbook's hook (or the give-up flag).
    hooks: { before: [`touch '${marker(name)}'; while [ ! -f '${marker(other)}' ] && [ ! -f '${giveUp()}' ]; do sleep 0.05; done`] },
  };
  await writeFile(join(root, 'console', 'runbooks', `${name}.yaml`), stringify(doc));
}

async function jobOf(name: string): Promise<FleetJob> {
  const content = await readFile(join(root, 'console', 'runbooks', `${name}.yaml`), 'utf8');
  return { v: 1, kind: 'backup', args: { runbook: name }, argv: [name], runbook: { name, host: 'j', content, sha256: sha256Hex(content) }, actor: { face: 'cli', user: 'tester' }, requestedAt: new Date().toISOString() };
}

beforeAll(async () => {
  if (!pg.availability.ok) return;
  root = await tempDir();
  await mkdir(join(root, 'console', 'runbooks'), { recursive: true });
  await writeRunbook('p', 'q');
  await writeRunbook('q', 'p');
  const migrated = await runCli(['store', 'migrate'], { env: env(), cwd: root });
  expect(migrated.code, migrated.stderr).toBe(0);
  for (const name of ['p', 'q']) {
    const r = await runCli(['init', name], { env: env(), cwd: root });
    expect(r.code, r.stderr).toBe(0);
  }
  agent = await startAgent({ host: 'j', cwd: root, env: { ...env(), LIFEBOAT_RUNBOOKS: join(root, 'j', 'runbooks'), LIFEBOAT_HOST: '' }, args: ['--jobs', '2'] });
}, 90_000);

afterAll(async () => {
  await writeFile(giveUp(), '').catch(() => undefined);
  await agent?.stop();
  await closeFleetLinks();
}, 30_000);

describe('agent jobs and shared dispatch connections', () => {
  it('runs jobs of two runbooks side by side, and a second job of one runbook only after its first', async (ctx) => {
    if (!pg.availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', pg.availability);
    const queue = await FleetQueue.open(pg.url());
    try {
      const [p1, p2, q1] = [randomUUID(), randomUUID(), randomUUID()];
      await queue.dispatch(await jobOf('p'), p1);
      // p's hook is running (it waits for q): a second job of p now must wait in the queue.
      await expect.poll(() => readFile(marker('p')).then(() => true, () => false), { timeout: 20_000, interval: 50, message: agent!.output() }).toBe(true);
      await rm(marker('p'));
      await queue.dispatch(await jobOf('p'), p2);
      await queue.dispatch(await jobOf('q'), q1);
      // Both p1 and q1 end only if they ran at once: each waited for the other's hook.
      await expect.poll(async () => (await queue.status('j', q1))?.state, { timeout: 30_000, interval: 100, message: agent!.output() }).toBe('completed');
      await expect.poll(async () => (await queue.status('j', p1))?.state, { timeout: 30_000, interval: 100, message: agent!.output() }).toBe('completed');
      // q started p1's partner, not p2: p2 ran only after p1 (it finds q's marker, still there, and goes through).
      await expect.poll(async () => (await queue.status('j', p2))?.state, { timeout: 30_000, interval: 100, message: agent!.output() }).toBe('completed');
      const started = (id: string) => Date.parse(pg.query(`SELECT started_on FROM lifeboat_queue.job WHERE id = '${id}'`));
      const completed = (id: string) => Date.parse(pg.query(`SELECT completed_on FROM lifeboat_queue.job WHERE id = '${id}'`));
      expect(started(p2)).toBeGreaterThanOrEqual(completed(p1));
      expect(started(q1)).toBeLessThan(completed(p1));
      for (const id of [p1, p2, q1]) expect(((await queue.status('j', id))!.output as { exitCode: number }).exitCode, agent!.output()).toBe(0);
      expect(agent!.output()).toMatch(/up to 2 at once/);
    } finally {
      await queue.stop();
    }
  }, 90_000);

  it('shares one queue link per process: opened once, closed with its last user, kept while links are kept open', async (ctx) => {
    if (!pg.availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', pg.availability);
    const backends = () => Number(pg.query("SELECT count(*) FROM pg_stat_activity WHERE datname = 'lifeboat' AND pid <> pg_backend_pid()"));
    const idle = backends();
    const [a, b] = await Promise.all([acquireFleetLink(pg.url()), acquireFleetLink(pg.url())]);
    expect(a.link).toBe(b.link);
    expect(openFleetLinks()).toBe(1);
    await a.release();
    expect(openFleetLinks()).toBe(1);
    await b.release();
    expect(openFleetLinks()).toBe(0);
    await expect.poll(backends, { timeout: 10_000, interval: 100 }).toBe(idle);

    keepFleetLinksOpen();
    const c = await acquireFleetLink(pg.url());
    await c.release();
    expect(openFleetLinks()).toBe(1);
    const d = await acquireFleetLink(pg.url());
    expect(d.link).toBe(c.link);
    await d.release();
    await closeFleetLinks();
    expect(openFleetLinks()).toBe(0);
  }, 30_000);
});
