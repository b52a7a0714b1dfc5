import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { findCommand, invokeCommand } from '../../commands/index.js';
import { parseCommandArgs } from '../../commands/invoke.js';
import { scheduleCommand } from '../../commands/schedule.js';
import { FakeClock } from '../../src/core/clock.js';
import { ExitCode } from '../../src/core/errors.js';
import { ensureCliBuilt, runCli } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/temp-dirs.js';
import { commandContext } from './alerts-context.js';

const tempDir = useTempDirs('schedule-cmd');

/** A runbooks folder under a fresh temp dir; returns the dir (cwd for the command). */
async function folder(runbooks: Record<string, object | string>): Promise<string> {
  const dir = await tempDir();
  await mkdir(join(dir, 'runbooks'));
  for (const [name, doc] of Object.entries(runbooks)) {
    await writeFile(join(dir, 'runbooks', `${name}.yaml`), typeof doc === 'string' ? doc : stringify(doc));
  }
  return dir;
}

function runbook(name: string, extra: object = {}) {
  return {
    name,
    owner: '@lifeboat-tests',
    sources: [{ name: 'data', path: '/srv/data' }],
    repository: { hot: { url: `file:///srv/repos/${name}` }, password: { env: 'LIFEBOAT_PASSWORD' } },
    objectives: { rpo: '26h', rto: '15m' },
    ...extra,
  };
}

const app = runbook('app', {
  schedule: { backup: '30 2 * * *', drill: '0 10 * * 1', timezone: 'Europe/Berlin' },
  drill: { announce: '15m' },
});
const web = runbook('web');

describe('schedule command', () => {
  it('is registered, open to anyone, not audited, and checks --limit', async () => {
    expect(findCommand('schedule')).toBe(scheduleCommand);
    expect(scheduleCommand.access).toBe('anyone');
    expect(scheduleCommand.audited).toBe(false);
    expect(parseCommandArgs(scheduleCommand, [])).toEqual({ runbook: undefined, limit: 1 });
    expect(parseCommandArgs(scheduleCommand, ['app', '--limit', '5'])).toEqual({ runbook: 'app', limit: 5 });
    const res = await invokeCommand({ command: scheduleCommand, argv: ['--limit', '0'] }, commandContext());
    expect(res).toMatchObject({ exitCode: ExitCode.usage, summary: expect.stringContaining('--limit must be a whole number from 1 to 1000, got "0"') as unknown });
  });

  it('lists the next run of every kind per runbook, in its time zone and UTC, with the drill announcement; unscheduled runbooks say so', async () => {
    const dir = await folder({ app, web });
    // The day before Berlin springs forward: the 02:30 backup is at 03:30 CEST.
    const ctx = commandContext({ dir, clock: new FakeClock('2026-03-28T12:00:00Z') });
    const res = await invokeCommand({ command: scheduleCommand, argv: [] }, ctx);
    expect(res.exitCode).toBe(ExitCode.ok);
    expect(res.summary).toBe('2 upcoming runs of 1 runbook; 1 not scheduled');
    expect(res.table!.columns.map((c) => c.header)).toEqual(['RUNBOOK', 'KIND', 'WHEN (RUNBOOK TIME)', 'UTC', 'IN', 'ANNOUNCED']);
    expect(res.table!.rows).toEqual([
      { runbook: 'app', kind: 'backup', when: 'Sun 2026-03-29 03:30 +02:00', utc: '2026-03-29 01:30Z', in: '13h30m', announce: '—' },
      { runbook: 'app', kind: 'drill', when: 'Mon 2026-03-30 10:00 +02:00', utc: '2026-03-30 08:00Z', in: '44h00m', announce: 'Mon 2026-03-30 09:45 +02:00 (15m00s before)' },
      { runbook: 'web', kind: '—', when: 'not scheduled', utc: '—', in: '—', announce: '—' },
    ]);
    expect(res.data).toEqual({
      now: '2026-03-28T12:00:00.000Z',
      runs: [
        { runbook: 'app', kind: 'backup', at: '2026-03-29T01:30:00.000Z', timezone: 'Europe/Berlin', local: 'Sun 2026-03-29 03:30 +02:00', inMs: 48_600_000 },
        {
          runbook: 'app',
          kind: 'drill',
          at: '2026-03-30T08:00:00.000Z',
          timezone: 'Europe/Berlin',
          local: 'Mon 2026-03-30 10:00 +02:00',
          inMs: 158_400_000,
          announceAt: '2026-03-30T07:45:00.000Z',
        },
      ],
      notScheduled: ['web'],
      invalid: [],
    });
  });

  it('one runbook with --limit: that many runs of each kind, soonest first', async () => {
    const dir = await folder({ app, web });
    const ctx = commandContext({ dir, clock: new FakeClock('2026-03-28T12:00:00Z') });
    const res = await invokeCommand({ command: scheduleCommand, argv: ['app', '--limit', '3'] }, ctx);
    expect(res.summary).toBe('6 upcoming runs of app');
    expect(res.table!.rows.map((r) => [r.kind, r.utc])).toEqual([
      ['backup', '2026-03-29 01:30Z'],
      ['backup', '2026-03-30 00:30Z'],
      ['drill', '2026-03-30 08:00Z'],
      ['backup', '2026-03-31 00:30Z'],
      ['drill', '2026-04-06 08:00Z'],
      ['drill', '2026-04-13 08:00Z'],
    ]);
    const none = await invokeCommand({ command: scheduleCommand, argv: ['web'] }, ctx);
    expect(none).toMatchObject({ exitCode: ExitCode.ok, summary: 'web is not scheduled', table: { rows: [{ runbook: 'web', when: 'not scheduled' }] } });
  });

  it('an unknown runbook is a usage error naming the ones there are', async () => {
    const dir = await folder({ app });
    const res = await invokeCommand({ command: scheduleCommand, argv: ['nope'] }, commandContext({ dir }));
    expect(res.exitCode).toBe(ExitCode.usage);
    expect(res.summary).toBe('No runbook named "nope" in runbooks (available: app)');
  });

  it('an invalid runbook file is listed with its problems, at its line, and the exit is 2; the valid ones still list', async () => {
    const broken = stringify(runbook('broken', { schedule: { backup: '0 25 * * *' } }));
    const dir = await folder({ app, broken });
    const res = await invokeCommand({ command: scheduleCommand, argv: [] }, commandContext({ dir, clock: new FakeClock('2026-03-28T12:00:00Z') }));
    expect(res.exitCode).toBe(ExitCode.usage);
    expect(res.summary).toBe('2 upcoming runs of 1 runbook; 1 invalid runbook');
    expect(res.table!.rows.map((r) => [r.runbook, r.kind, r.when])).toEqual([
      ['app', 'backup', 'Sun 2026-03-29 03:30 +02:00'],
      ['app', 'drill', 'Mon 2026-03-30 10:00 +02:00'],
      ['broken', '—', 'invalid runbook (1 problem)'],
    ]);
    expect(res.lines).toHaveLength(1);
    expect(res.lines![0]).toMatch(/^runbooks\/broken\.yaml:\d+:\d+: .*0 25 \* \* \*/);
  });
});

describe('lifeboat schedule (CLI)', () => {
  beforeAll(ensureCliBuilt, 120_000);

  it('prints the table, and --json prints the same runs as data', async () => {
    const dir = await folder({ app, web });
    const text = await runCli(['schedule'], { cwd: dir });
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^RUNBOOK +KIND +WHEN \(RUNBOOK TIME\) +UTC +IN +ANNOUNCED$/);
    expect(lines.filter((l) => /^app +backup +\w{3} \d{4}-\d\d-\d\d 0[23]:30 \+0[12]:00 /.test(l))).toHaveLength(1);
    expect(lines.filter((l) => /^app +drill +Mon \d{4}-\d\d-\d\d 10:00 \+0[12]:00 .*09:45 \+0[12]:00 \(15m00s before\)$/.test(l))).toHaveLength(1);
    expect(lines.some((l) => /^web +— +not scheduled/.test(l))).toBe(true);

    const json = await runCli(['schedule', 'app', '--limit', '2', '--json'], { cwd: dir });
    expect(json.code).toBe(0);
    const out = JSON.parse(json.stdout) as { summary: string; data: { now: string; runs: { kind: string; at: string; inMs: number; announceAt?: string }[] } };
    expect(out.summary).toBe('4 upcoming runs of app');
    const now = Date.parse(out.data.now);
    expect(out.data.runs.map((r) => r.kind).sort()).toEqual(['backup', 'backup', 'drill', 'drill']);
    for (const r of out.data.runs) {
      expect(Date.parse(r.at)).toBeGreaterThan(now);
      expect(r.inMs).toBe(Date.parse(r.at) - now);
      if (r.kind === 'drill') expect(Date.parse(r.at) - Date.parse(r.announceAt!)).toBe(15 * 60_000);
    }
  });
});
