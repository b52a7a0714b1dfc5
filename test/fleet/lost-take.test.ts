/**
 * A take whose answer was lost (issue 19): pg-boss's fetch committed — the job
 * is `active` for the host — but the store went away before the agent got
 * the reply, so no agent holds it and its dispatcher would wait for pg-boss
 * to expire it a day later. Once the agent takes again after a failed take,
 * it fails the host's active jobs it does not hold, saying why; jobs it holds
 * stay. Real PostgreSQL, a real agent process; the lost answer is the row a
 * committed fetch leaves (`active`, never handed to anyone).
 */
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetQueue, queueOfHost, sha256Hex, type FleetJob } from '../../src/core/index.js';
import { startAgent, type AgentProcess } from '../helpers/agent-process.js';
import { runCli } from '../helpers/cli.js';
import { skipWithoutTool } from '../helpers/required-tool.js';
import { useLifeboatPostgres } from '../helpers/serve-postgres.js';
import { useTempDirs } from '../helpers/temp-dirs.js';

const tempDir = useTempDirs('fleet-lost-take');
const pg = useLifeboatPostgres(tempDir);

let root = '';
let agent: AgentProcess | undefined;
let queue: FleetQueue | undefined;

function jobFor(host: string, runbook: string): FleetJob {
  const content = `name: ${runbook}\nhost: ${host}\n`;
  return { v: 1, kind: 'backup', args: { runbook }, argv: [runbook], runbook: { name: runbook, host, content, sha256: sha256Hex(content) }, actor: { face: 'cli', user: 'tester' }, requestedAt: new Date().toISOString() };
}

/** What a committed fetch leaves: the job active, started, handed to no one. */
function markTaken(id: string): void {
  pg.query(`UPDATE lifeboat_queue.job SET state = 'active', started_on = now() WHERE id = '${id}'`);
}

const stateOf = (id: string) => pg.query(`SELECT state FROM lifeboat_queue.job WHERE id = '${id}'`);

beforeAll(async () => {
  if (!pg.availability.ok) return;
  root = await tempDir();
  await mkdir(join(root, 'runbooks'), { recursive: true });
  const env = { LIFEBOAT_STORE_URL: pg.url(), LIFEBOAT_HOME: join(root, 'home'), LIFEBOAT_RUNBOOKS: join(root, 'runbooks') };
  const migrated = await runCli(['store', 'migrate'], { env, cwd: root });
  expect(migrated.code, migrated.stderr).toBe(0);
  queue = await FleetQueue.open(pg.url());
}, 90_000);

afterAll(async () => {
  await agent?.stop();
  await queue?.stop();
}, 30_000);

describe('a take whose answer was lost', () => {
  it('failActive leaves the jobs in hand and fails the others', async (ctx) => {
    if (!pg.availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', pg.availability);
    const [held, lost] = [randomUUID(), randomUUID()];
    await queue!.dispatch(jobFor('x', 'x-held'), held);
    await queue!.dispatch(jobFor('x', 'x-lost'), lost);
    markTaken(held);
    markTaken(lost);
    expect(await queue!.failActive('x', 'never received', [held])).toEqual([lost]);
    expect([stateOf(held), stateOf(lost)]).toEqual(['active', 'failed']);
  });

  it('after the store comes back, the agent fails the host job it never received, saying why', async (ctx) => {
    if (!pg.availability.ok) return skipWithoutTool(ctx, 'PostgreSQL', pg.availability);
    agent = await startAgent({ host: 'lt', cwd: root, env: { LIFEBOAT_STORE_URL: pg.url(), LIFEBOAT_HOME: join(root, 'lt-home'), LIFEBOAT_RUNBOOKS: join(root, 'runbooks') } });
    // Queued and taken in one statement, so the agent's own takes never see it queued.
    const id = randomUUID();
    const job = jobFor('lt', 'lt-app');
    pg.query(
      `INSERT INTO lifeboat_queue.job (id, name, data, state, started_on, singleton_key, retry_limit) VALUES ('${id}', '${queueOfHost('lt')}', '${JSON.stringify(job).replace(/'/g, "''")}'::jsonb, 'active', now(), 'lt-app', 0)`,
    );
    const outputBefore = agent.output().length;

    pg.query('CHECKPOINT');
    pg.cluster.stop();
    try {
      await agent.waitFor(/cannot take jobs from the queue/, 20_000);
    } finally {
      pg.cluster.start();
    }
    const said = await agent.waitFor(/taking jobs again; 1 job\(s\) taken while the store went away, never received here, failed: ([0-9a-f-]+)/, 30_000);
    expect(said[1]).toBe(id);
    expect(stateOf(id)).toBe('failed');
    const output = JSON.parse(pg.query(`SELECT output FROM lifeboat_queue.job WHERE id = '${id}'`)) as { exitCode: number; summary: string };
    expect(output).toEqual({ exitCode: 1, summary: expect.stringMatching(/^the agent on lt never received this job: the queue's answer was lost/) as unknown as string });
    expect(agent.output().slice(outputBefore)).not.toMatch(/running backup lt-app/);
    expect(agent.child.exitCode).toBeNull();
  }, 90_000);
});
