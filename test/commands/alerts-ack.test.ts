import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ackCommand } from '../../commands/ack.js';
import { findCommand } from '../../commands/index.js';
import { invokeCommand } from '../../commands/invoke.js';
import { evaluateAlerts } from '../../src/core/alerts/evaluate.js';
import { silentNotifier, type Notifier } from '../../src/core/alerts/notifier.js';
import { ExitCode, isLifeboatError } from '../../src/core/errors.js';
import { backupRun, testRunbook } from '../core/alerts/fixtures.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { commandContext, openAlert } from './alerts-context.js';

const tempDir = useTempDirs('ack');

describe('ack command', () => {
  it('is registered and names the alert’s runbook for access checks', () => {
    expect(findCommand('ack')).toBe(ackCommand);
    expect(ackCommand.access).toBe('backup');
    expect(ackCommand.runbookOf!({ key: 'anomaly:app-data:bytes' })).toBe('app-data');
    expect(ackCommand.runbookOf!({ key: 'nonsense' })).toBeUndefined();
  });

  it('records who acknowledged it and when; the alert stays open', async () => {
    const ctx = commandContext({ actor: { face: 'tui', user: 'carol' } });
    await ctx.memory.putAlert(openAlert('stale:app-data'));
    const res = await ackCommand.run({ key: 'stale:app-data' }, ctx);
    expect(res.exitCode).toBe(ExitCode.ok);
    expect(res.summary).toBe('acknowledged stale:app-data (CRITICAL): it stays open until the condition clears, without repeats or escalations');
    expect(await ctx.memory.getAlert('stale:app-data')).toMatchObject({ status: 'open', ackedBy: 'carol', ackedAt: '2026-03-10T12:00:00.000Z', count: 4 });
  });

  it('an acknowledged alert is not notified again by the next evaluations', async () => {
    const ctx = commandContext();
    await ctx.memory.putRun(backupRun('2026-03-09T09:00:00Z'));
    const calls: string[] = [];
    const notifier: Notifier = { raised: async (a) => void calls.push(`raised ${a.key}`), resolved: async (a) => void calls.push(`resolved ${a.key}`) };
    const evaluate = () => evaluateAlerts({ runbook: testRunbook(), store: ctx.memory, clock: ctx.fakeClock, notifier });
    await evaluate();
    await ackCommand.run({ key: 'stale:app-data' }, ctx);
    ctx.fakeClock.advance(3_600_000);
    await evaluate();
    expect(calls).toEqual(['raised stale:app-data']);
    expect(await ctx.memory.getAlert('stale:app-data')).toMatchObject({ status: 'open', count: 2, ackedBy: 'alice' });
  });

  it('writes the acknowledged transition with its deliveries: to the sinks told of the alert and those its severity routes to', async () => {
    const config = { notify: {}, alerts: { repeatMs: 4 * 3_600_000, notify: [{ sink: 'chat' }, { sink: 'pager', severity: 'critical' as const }] } };
    const ctx = { ...commandContext({ actor: { face: 'slack', user: 'U42' } }), config };
    await ctx.memory.putRun(backupRun('2026-03-09T09:00:00Z'));
    await evaluateAlerts({ runbook: testRunbook(), store: ctx.memory, clock: ctx.fakeClock, notifier: silentNotifier, config });
    ctx.fakeClock.advance(60_000);
    await ackCommand.run({ key: 'stale:app-data' }, ctx);
    const deliveries = await ctx.memory.listDeliveries();
    expect(deliveries.map((d) => `${d.seq} ${d.transition} ${d.sink}`).sort()).toEqual(['1 raised chat', '1 raised pager', '2 acknowledged chat', '2 acknowledged pager']);
    const ack = deliveries.find((d) => d.transition === 'acknowledged')!;
    expect(ack).toMatchObject({ status: 'pending', createdAt: '2026-03-10T12:01:00.000Z', alert: { key: 'stale:app-data', ackedBy: 'U42' } });
    // Acknowledged: nine hours on, the critical alert is not repeated.
    ctx.fakeClock.advance(9 * 3_600_000);
    await evaluateAlerts({ runbook: testRunbook(), store: ctx.memory, clock: ctx.fakeClock, notifier: silentNotifier, config, trigger: 'timer' });
    expect(await ctx.memory.listDeliveries()).toHaveLength(4);
    // Acknowledging again writes nothing more.
    await ackCommand.run({ key: 'stale:app-data' }, ctx);
    expect(await ctx.memory.listDeliveries()).toHaveLength(4);
  });

  it('an unknown key is a usage error that lists the open keys', async () => {
    const ctx = commandContext();
    await ctx.memory.putAlert(openAlert('stale:app-data'));
    await ctx.memory.putAlert(openAlert('drill-failed:web'));
    await ctx.memory.putAlert(openAlert('failed-run:app-data', { status: 'resolved', resolvedAt: '2026-03-10T11:00:00.000Z' }));
    const err = await ackCommand.run({ key: 'stale:app' }, ctx).catch((e: unknown) => e);
    expect(isLifeboatError(err, 'USAGE')).toBe(true);
    expect((err as Error).message).toBe('ack: no alert "stale:app"; open alerts: drill-failed:web, stale:app-data');
    const none = await ackCommand.run({ key: 'stale:x' }, commandContext()).catch((e: unknown) => e);
    expect((none as Error).message).toBe('ack: no alert "stale:x"; there are no open alerts');
  });

  it('a key that names no rule and runbook is refused before the store is read', async () => {
    for (const key of ['', ':', 'x', 'stale:', ':app-data']) {
      const err = await ackCommand.run({ key }, commandContext()).catch((e: unknown) => e);
      expect(isLifeboatError(err, 'USAGE'), key).toBe(true);
      expect((err as Error).message).toBe(`ack: refused: ${JSON.stringify(key)} is not an alert key (expected <rule>:<runbook>, e.g. stale:app-data; see \`lifeboat alerts\`)`);
    }
  });

  it('a resolved alert, or one already acknowledged, says so and is left as it is', async () => {
    const ctx = commandContext({ actor: { face: 'cli', user: 'dave' } });
    await ctx.memory.putAlert(openAlert('failed-run:app-data', { status: 'resolved', resolvedAt: '2026-03-10T11:00:00.000Z' }));
    await ctx.memory.putAlert(openAlert('stale:app-data', { ackedBy: 'bob', ackedAt: '2026-03-10T11:30:00.000Z' }));
    const resolved = await ackCommand.run({ key: 'failed-run:app-data' }, ctx);
    expect(resolved).toMatchObject({ exitCode: ExitCode.ok, summary: 'failed-run:app-data is already resolved (1h ago); nothing to acknowledge' });
    expect((await ctx.memory.getAlert('failed-run:app-data'))!.ackedBy).toBeUndefined();
    const acked = await ackCommand.run({ key: 'stale:app-data' }, ctx);
    expect(acked.summary).toBe('stale:app-data was already acknowledged by bob 30m ago');
    expect(await ctx.memory.getAlert('stale:app-data')).toMatchObject({ ackedBy: 'bob' });
  });

  it('from Slack, only people in the runbook’s access.backup may acknowledge its alerts', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'runbooks'));
    await writeFile(
      join(dir, 'runbooks', 'app-data.yaml'),
      [
        'name: app-data',
        'sources:',
        `  - { name: data, path: ${JSON.stringify(dir)} }`,
        'repository:',
        `  hot: { url: ${JSON.stringify(`file://${dir}/repo`)} }`,
        '  password: { env: LIFEBOAT_PASSWORD }',
        'objectives: { rpo: 26h, rto: 5m }',
        'access: { backup: [UALICE001] }',
        '',
      ].join('\n'),
    );
    const bob = commandContext({ dir, actor: { face: 'slack', user: 'UBOB00001' } });
    await bob.memory.putAlert(openAlert('stale:app-data'));
    const refused = await invokeCommand({ command: ackCommand as never, argv: ['stale:app-data'] }, bob);
    expect(refused.exitCode).toBe(ExitCode.failed);
    expect(refused.summary).toContain('access.backup allows UALICE001');
    expect((await bob.memory.getAlert('stale:app-data'))!.ackedBy).toBeUndefined();

    const alice = commandContext({ dir, store: bob.memory, actor: { face: 'slack', user: 'UALICE001' } });
    const ok = await invokeCommand({ command: ackCommand as never, argv: ['stale:app-data'] }, alice);
    expect(ok.exitCode).toBe(ExitCode.ok);
    expect(await alice.memory.getAlert('stale:app-data')).toMatchObject({ ackedBy: 'UALICE001' });
    expect((await alice.memory.listAudit()).map((a) => [a.actor.user, a.result])).toEqual([
      ['UALICE001', 'ok'],
      ['UBOB00001', 'refused'],
    ]);
  });
});
