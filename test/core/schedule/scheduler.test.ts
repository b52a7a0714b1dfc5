import { readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { isLifeboatError } from '../../../src/core/errors.js';
import { FileScheduleState, scheduleStatePath } from '../../../src/core/schedule/state.js';
import { MAX_TIMER_MS } from '../../../src/core/schedule/timers.js';
import { useTempDirs } from '../../helpers/temp-dirs.js';
import { schedulerHarness, seededRandom } from './harness.js';
import { scheduledRunbook } from './runbooks.js';

const tempDir = useTempDirs('scheduler', 'each');
const HOUR = 3_600_000;
const MINUTE = 60_000;

describe('Scheduler: firing', () => {
  it('fires at the next cron time in the runbook time zone and records it as handled', async () => {
    const home = await tempDir();
    const h = await schedulerHarness({ start: '2026-01-10T12:00:00Z', home, runbooks: [scheduledRunbook('app', { backup: '0 2 * * *', timezone: 'Europe/Berlin' })] });
    await h.start();
    expect(h.scheduler.upcoming().map((j) => [j.runbook, j.kind, j.runAt.toISOString()])).toEqual([['app', 'backup', '2026-01-11T01:00:00.000Z']]);
    await h.walk('2026-01-11T00:59:00Z', 10 * MINUTE);
    expect(h.runs()).toEqual([]);
    await h.walk('2026-01-11T01:30:00Z');
    expect(h.runs()).toEqual([
      { what: 'run', runbook: 'app', kind: 'backup', scheduledAt: '2026-01-11T01:00:00.000Z', at: '2026-01-11T01:00:00.000Z', catchUp: false, runAt: '2026-01-11T01:00:00.000Z' },
    ]);
    const file = JSON.parse(await readFile(scheduleStatePath(home), 'utf8')) as { handled: Record<string, Record<string, string>> };
    expect(file.handled.app?.backup).toBe('2026-01-11T01:00:00.000Z');
    expect(h.scheduler.upcoming()[0]?.scheduledAt.toISOString()).toBe('2026-01-12T01:00:00.000Z');
    expect(h.errors).toEqual([]);
  });

  it('DST spring forward (Berlin, 2026-03-29): a daily 02:30 job runs exactly once that day, at 03:30 CEST', async () => {
    const h = await schedulerHarness({ start: '2026-03-28T12:00:00Z', home: await tempDir(), runbooks: [scheduledRunbook('app', { backup: '30 2 * * *', timezone: 'Europe/Berlin' })] });
    await h.start();
    await h.walk('2026-03-30T12:00:00Z', 10 * MINUTE);
    expect(h.runs().map((r) => r.at)).toEqual(['2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z']);
  });

  it('DST spring forward: restarted between 03:00 and 03:30 CEST, the shifted fire still runs, once', async () => {
    const home = await tempDir();
    const rb = scheduledRunbook('app', { backup: '30 2 * * *', timezone: 'Europe/Berlin' });
    const first = await schedulerHarness({ start: '2026-03-28T12:00:00Z', home, runbooks: [rb] });
    await first.start();
    await first.walk('2026-03-29T01:10:00Z', 10 * MINUTE);
    await first.scheduler.stop();
    const second = await schedulerHarness({ start: '2026-03-29T01:10:00Z', home, runbooks: [rb] });
    await second.start();
    await second.walk('2026-03-30T12:00:00Z', 10 * MINUTE);
    expect([...first.runs(), ...second.runs()].map((r) => r.at)).toEqual(['2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z']);
  });

  it('DST fall back (Berlin, 2026-10-25): a daily 02:30 job runs exactly once that day, even across a restart in the repeated hour', async () => {
    const home = await tempDir();
    const rb = scheduledRunbook('app', { backup: '30 2 * * *', timezone: 'Europe/Berlin' });
    const first = await schedulerHarness({ start: '2026-10-24T12:00:00Z', home, runbooks: [rb] });
    await first.start();
    await first.walk('2026-10-25T01:00:00Z', 10 * MINUTE); // 02:00 CET, the second pass
    await first.scheduler.stop();
    const second = await schedulerHarness({ start: '2026-10-25T01:00:00Z', home, runbooks: [rb] });
    await second.start();
    await second.walk('2026-10-26T12:00:00Z', 10 * MINUTE);
    expect(first.runs().map((r) => r.at)).toEqual(['2026-10-25T00:30:00.000Z']);
    expect(second.runs().map((r) => r.at)).toEqual(['2026-10-26T01:30:00.000Z']);
    expect(second.log.filter((l) => l.what !== 'run')).toEqual([]);
  });
});

describe('Scheduler: missed fires at start-up', () => {
  const rb = scheduledRunbook('app', { backup: '0 2 * * *' });

  /** A scheduler that handled the 2026-01-10 02:00 fire, then went down at 03:00. */
  async function ranUntilJan10(home: string) {
    const h = await schedulerHarness({ start: '2026-01-10T00:00:00Z', home, runbooks: [rb] });
    await h.start();
    await h.walk('2026-01-10T03:00:00Z', 30 * MINUTE);
    expect(h.runs().map((r) => r.scheduledAt)).toEqual(['2026-01-10T02:00:00.000Z']);
    await h.scheduler.stop();
  }

  it('a fire missed within the grace window runs once at start-up, as a catch-up', async () => {
    const home = await tempDir();
    await ranUntilJan10(home);
    const h = await schedulerHarness({ start: '2026-01-11T02:40:00Z', home, runbooks: [rb], graceMs: HOUR });
    await h.start();
    expect(h.runs()).toEqual([
      { what: 'run', runbook: 'app', kind: 'backup', scheduledAt: '2026-01-11T02:00:00.000Z', at: '2026-01-11T02:40:00.000Z', catchUp: true, runAt: '2026-01-11T02:40:00.000Z' },
    ]);
    await h.walk('2026-01-12T01:00:00Z', HOUR);
    expect(h.runs()).toHaveLength(1);
    await h.scheduler.stop();
    // And a second restart does not run it again.
    const again = await schedulerHarness({ start: '2026-01-12T01:00:00Z', home, runbooks: [rb], graceMs: 48 * HOUR });
    await again.start();
    expect(again.log).toEqual([]);
  });

  it('a fire missed longer ago than the grace window does not run; it is reported once', async () => {
    const home = await tempDir();
    await ranUntilJan10(home);
    const h = await schedulerHarness({ start: '2026-01-11T05:00:00Z', home, runbooks: [rb], graceMs: HOUR });
    await h.start();
    expect(h.log).toEqual([
      { what: 'missed', runbook: 'app', kind: 'backup', scheduledAt: '2026-01-11T02:00:00.000Z', at: '2026-01-11T05:00:00.000Z', catchUp: true, runAt: '2026-01-11T05:00:00.000Z' },
    ]);
    expect((await FileScheduleState.open(scheduleStatePath(home))).lastHandled('app', 'backup')?.toISOString()).toBe('2026-01-11T02:00:00.000Z');
    await h.scheduler.stop();
    const again = await schedulerHarness({ start: '2026-01-11T06:00:00Z', home, runbooks: [rb], graceMs: HOUR });
    await again.start();
    expect(again.log).toEqual([]);
  });

  it('several missed fires give one run, of the latest', async () => {
    const home = await tempDir();
    const hourly = scheduledRunbook('app', { backup: '0 * * * *' });
    const before = await schedulerHarness({ start: '2026-01-10T00:30:00Z', home, runbooks: [hourly] });
    await before.start();
    await before.walk('2026-01-10T02:30:00Z', 10 * MINUTE);
    await before.scheduler.stop();
    // Down from 02:30 to 07:30: the 03:00 … 07:00 fires were missed.
    const h = await schedulerHarness({ start: '2026-01-10T07:30:00Z', home, runbooks: [hourly], graceMs: HOUR });
    await h.start();
    expect(h.log.map((l) => [l.what, l.scheduledAt, l.catchUp])).toEqual([['run', '2026-01-10T07:00:00.000Z', true]]);
    await h.walk('2026-01-10T08:30:00Z', 10 * MINUTE);
    expect(h.runs().map((r) => r.scheduledAt)).toEqual(['2026-01-10T07:00:00.000Z', '2026-01-10T08:00:00.000Z']);
  });

  it('a runbook seen for the first time catches nothing up, but its latest fire is the baseline for later downtime', async () => {
    const home = await tempDir();
    const h = await schedulerHarness({ start: '2026-01-10T02:30:00Z', home, runbooks: [rb], graceMs: HOUR });
    await h.start();
    expect(h.log).toEqual([]);
    expect(h.state.lastHandled('app', 'backup')?.toISOString()).toBe('2026-01-10T02:00:00.000Z');
  });

  it('a timer that goes off far too late (the machine slept) follows the same rule', async () => {
    const home = await tempDir();
    const hourly = scheduledRunbook('app', { backup: '0 * * * *' });
    const h = await schedulerHarness({ start: '2026-01-10T00:30:00Z', home, runbooks: [hourly], graceMs: 30 * MINUTE });
    await h.start();
    h.clock.advance(3 * HOUR + 50 * MINUTE); // asleep until 04:20; the 01:00 timer has not fired
    h.timers.advance(0);
    await h.settle();
    expect(h.log.map((l) => [l.what, l.scheduledAt, l.at, l.catchUp])).toEqual([['run', '2026-01-10T04:00:00.000Z', '2026-01-10T04:20:00.000Z', true]]);
    h.clock.advance(3 * HOUR + 25 * MINUTE); // asleep until 07:45, past the grace of the 07:00 fire
    h.timers.advance(0);
    await h.settle();
    expect(h.log.slice(1).map((l) => [l.what, l.scheduledAt])).toEqual([['missed', '2026-01-10T07:00:00.000Z']]);
    expect(h.scheduler.upcoming()[0]?.scheduledAt.toISOString()).toBe('2026-01-10T08:00:00.000Z');
  });
});

describe('Scheduler: overlap, jitter, announcements', () => {
  it('a fire of a runbook with a job still running is skipped and reported, whatever its kind; other runbooks are not held up', async () => {
    const h = await schedulerHarness({
      start: '2026-01-10T00:30:00Z',
      home: await tempDir(),
      runbooks: [scheduledRunbook('app', { backup: '0 * * * *', verify: '30 * * * *' }), scheduledRunbook('web', { backup: '0 * * * *' })],
      hold: ['app'],
    });
    await h.start();
    await h.walk('2026-01-10T02:10:00Z', 10 * MINUTE);
    expect(h.scheduler.running().map((j) => [j.runbook, j.scheduledAt.toISOString()])).toEqual([['app', '2026-01-10T01:00:00.000Z']]);
    expect(h.log.map((l) => [l.what, l.runbook, l.kind, l.scheduledAt])).toEqual([
      ['run', 'app', 'backup', '2026-01-10T01:00:00.000Z'],
      ['run', 'web', 'backup', '2026-01-10T01:00:00.000Z'],
      ['overlap', 'app', 'verify', '2026-01-10T01:30:00.000Z'],
      ['overlap', 'app', 'backup', '2026-01-10T02:00:00.000Z'],
      ['run', 'web', 'backup', '2026-01-10T02:00:00.000Z'],
    ]);
    await h.release('app');
    expect(h.scheduler.running()).toEqual([]);
    await h.walk('2026-01-10T02:40:00Z', 10 * MINUTE);
    expect(h.log.at(-1)).toMatchObject({ what: 'run', runbook: 'app', kind: 'verify', scheduledAt: '2026-01-10T02:30:00.000Z' });
    // Skipped fires are handled too: a restart does not catch them up.
    expect(h.state.lastHandled('app', 'verify')?.toISOString()).toBe('2026-01-10T02:30:00.000Z');
  });

  it('jitter delays each run by random() × jitterMs, within [0, jitterMs), and never runs early', async () => {
    const jitterMs = 10 * MINUTE;
    const names = ['a', 'b', 'c', 'd', 'e'];
    const h = await schedulerHarness({
      start: '2026-01-10T00:30:00Z',
      home: await tempDir(),
      runbooks: names.map((n) => scheduledRunbook(n, { backup: '0 1 * * *' })),
      jitterMs,
      random: seededRandom(42),
    });
    await h.start();
    const expected = seededRandom(42);
    const delays = h.scheduler.upcoming().map((j) => j.runAt.getTime() - j.scheduledAt.getTime());
    expect(delays.sort((x, y) => x - y)).toEqual(names.map(() => Math.floor(expected() * jitterMs)).sort((x, y) => x - y));
    for (const d of delays) expect(d >= 0 && d < jitterMs).toBe(true);
    expect(new Set(delays).size).toBe(names.length);
    // Each runs at its runAt: not a millisecond before, and at it.
    for (const job of h.scheduler.upcoming()) {
      h.timers.advanceTo(new Date(job.runAt.getTime() - 1));
      await h.settle();
      expect(h.runs().map((r) => r.runbook)).not.toContain(job.runbook);
      h.timers.advanceTo(job.runAt);
      await h.settle();
      expect(h.runs().at(-1)).toMatchObject({ runbook: job.runbook, at: job.runAt.toISOString() });
    }
    expect(h.runs()).toHaveLength(names.length);
  });

  it('announces a drill drill.announce before it starts, once, then runs it', async () => {
    const home = await tempDir();
    const rb = scheduledRunbook('app', { drill: '0 10 * * 1', timezone: 'Europe/Berlin' }, { announce: '15m' });
    const h = await schedulerHarness({ start: '2026-03-06T12:00:00Z', home, runbooks: [rb] });
    await h.start();
    await h.walk('2026-03-09T08:50:00Z', 5 * MINUTE);
    expect(h.log.map((l) => [l.what, l.kind, l.at, l.scheduledAt])).toEqual([['announce', 'drill', '2026-03-09T08:45:00.000Z', '2026-03-09T09:00:00.000Z']]);
    // A reload inside the window does not announce again.
    h.scheduler.setRunbooks([rb]);
    await h.walk('2026-03-09T09:10:00Z', 5 * MINUTE);
    expect(h.log.map((l) => [l.what, l.at])).toEqual([
      ['announce', '2026-03-09T08:45:00.000Z'],
      ['run', '2026-03-09T09:00:00.000Z'],
    ]);
    await h.scheduler.stop();
    // Started inside the window: announced at once, late rather than never.
    const late = await schedulerHarness({ start: '2026-03-16T08:55:00Z', home: await tempDir(), runbooks: [rb] });
    await late.start();
    late.timers.advance(0);
    await late.settle();
    expect(late.log.map((l) => [l.what, l.at, l.scheduledAt])).toEqual([['announce', '2026-03-16T08:55:00.000Z', '2026-03-16T09:00:00.000Z']]);
  });
});

describe('Scheduler: reload, stop, long timers', () => {
  it('a reload keeps a running job, retimes the others and drops the timers of removed runbooks', async () => {
    const a = scheduledRunbook('a', { backup: '0 * * * *' });
    const b = scheduledRunbook('b', { backup: '0 3 * * *' });
    const c = scheduledRunbook('c', { backup: '0 2 * * *' });
    const h = await schedulerHarness({ start: '2026-01-10T00:30:00Z', home: await tempDir(), runbooks: [a, b, c], hold: ['a'] });
    await h.start();
    await h.walk('2026-01-10T01:10:00Z', 10 * MINUTE);
    expect(h.scheduler.running().map((j) => j.runbook)).toEqual(['a']);
    const timersBefore = h.timers.size;

    h.scheduler.setRunbooks([a, scheduledRunbook('b', { backup: '0 4 * * *' })]);
    await h.settle();
    expect(h.scheduler.running().map((j) => j.runbook)).toEqual(['a']);
    expect(h.held.get('a')?.signal.aborted).toBe(false);
    expect(h.scheduler.upcoming().map((j) => [j.runbook, j.scheduledAt.toISOString()])).toEqual([
      ['a', '2026-01-10T02:00:00.000Z'],
      ['b', '2026-01-10T04:00:00.000Z'],
    ]);
    expect(h.timers.size).toBe(timersBefore - 1);

    await h.release('a');
    await h.walk('2026-01-10T04:30:00Z', 10 * MINUTE);
    expect(h.runs().map((r) => [r.runbook, r.scheduledAt]).sort()).toEqual([
      ['a', '2026-01-10T01:00:00.000Z'],
      ['a', '2026-01-10T02:00:00.000Z'],
      ['a', '2026-01-10T03:00:00.000Z'],
      ['a', '2026-01-10T04:00:00.000Z'],
      ['b', '2026-01-10T04:00:00.000Z'],
    ]);
  });

  it('a reload with a schedule that does not parse throws and leaves every timer as it was', async () => {
    const a = scheduledRunbook('a', { backup: '0 * * * *' });
    const h = await schedulerHarness({ start: '2026-01-10T00:30:00Z', home: await tempDir(), runbooks: [a] });
    await h.start();
    const bad = { ...a, name: 'b', schedule: { timezone: 'UTC', backup: '99 * * * *' } };
    expect(() => h.scheduler.setRunbooks([scheduledRunbook('a', { backup: '0 3 * * *' }), bad])).toThrow(/"99 \* \* \* \*"/);
    expect(h.scheduler.upcoming().map((j) => [j.runbook, j.scheduledAt.toISOString()])).toEqual([['a', '2026-01-10T01:00:00.000Z']]);
    await h.walk('2026-01-10T01:10:00Z');
    expect(h.runs().map((r) => r.scheduledAt)).toEqual(['2026-01-10T01:00:00.000Z']);
  });

  it('a timer a little late is on time even with no grace; with no grace a missed fire never runs', async () => {
    const home = await tempDir();
    const rb = scheduledRunbook('a', { backup: '0 * * * *' });
    const h = await schedulerHarness({ start: '2026-01-10T00:30:00Z', home, runbooks: [rb], graceMs: 0 });
    await h.start();
    h.clock.set('2026-01-10T01:00:05Z'); // a busy event loop: the timer goes off 5 s late
    h.timers.advance(0);
    await h.settle();
    expect(h.log.map((l) => [l.what, l.scheduledAt, l.catchUp])).toEqual([['run', '2026-01-10T01:00:00.000Z', false]]);
    await h.scheduler.stop();
    const restarted = await schedulerHarness({ start: '2026-01-10T02:00:01Z', home, runbooks: [rb], graceMs: 0 });
    await restarted.start();
    expect(restarted.log.map((l) => [l.what, l.scheduledAt])).toEqual([['missed', '2026-01-10T02:00:00.000Z']]);
  });

  it('a reload while a fire waits out its jitter keeps that fire and its time', async () => {
    const rb = scheduledRunbook('a', { backup: '0 1 * * *' });
    const h = await schedulerHarness({ start: '2026-01-10T00:30:00Z', home: await tempDir(), runbooks: [rb], jitterMs: 20 * MINUTE, random: () => 0.5 });
    await h.start();
    await h.walk('2026-01-10T01:05:00Z');
    h.scheduler.setRunbooks([rb]);
    expect(h.scheduler.upcoming().map((j) => j.runAt.toISOString())).toEqual(['2026-01-10T01:10:00.000Z']);
    await h.walk('2026-01-10T01:30:00Z');
    expect(h.runs().map((r) => [r.scheduledAt, r.at])).toEqual([['2026-01-10T01:00:00.000Z', '2026-01-10T01:10:00.000Z']]);
  });

  it('stop takes no new work but lets a running job finish; cancelRunning aborts its signal', async () => {
    const h = await schedulerHarness({ start: '2026-01-10T00:30:00Z', home: await tempDir(), runbooks: [scheduledRunbook('a', { backup: '0 * * * *' })], hold: ['a'] });
    await h.start();
    await h.walk('2026-01-10T01:10:00Z');
    await h.scheduler.stop();
    expect(h.timers.size).toBe(0);
    expect(h.scheduler.running()).toHaveLength(1);
    h.scheduler.cancelRunning();
    expect(h.held.get('a')?.signal.aborted).toBe(true);
    await h.release('a');
    await h.scheduler.finished();
    expect(h.scheduler.running()).toEqual([]);
    await h.walk('2026-01-10T05:00:00Z', 10 * MINUTE);
    expect(h.runs()).toHaveLength(1);
  });

  it('a job that comes due while stop() is under way is turned away and reported', async () => {
    const h = await schedulerHarness({ start: '2026-01-10T00:59:00Z', home: await tempDir(), runbooks: [scheduledRunbook('a', { backup: '0 * * * *' })] });
    await h.start();
    h.timers.advance(MINUTE); // fires; the state write is under way
    await h.scheduler.stop();
    await h.settle();
    expect(h.log.map((l) => [l.what, l.scheduledAt])).toEqual([['shutting-down', '2026-01-10T01:00:00.000Z']]);
  });

  it(`waits longer than ${MAX_TIMER_MS} ms (24.8 days) in steps, firing exactly on time`, async () => {
    const h = await schedulerHarness({ start: '2026-02-01T00:00:00Z', home: await tempDir(), runbooks: [scheduledRunbook('a', { backup: '0 0 1 1 *' })] });
    // FakeTimers throws on a delay over MAX_TIMER_MS, as a guard; start() arming the timer proves it stays under.
    await h.start();
    expect(h.timers.dueTimes()).toEqual([new Date(Date.parse('2026-02-01T00:00:00Z') + MAX_TIMER_MS)]);
    await h.walk('2026-12-31T23:59:59.999Z', 5 * 24 * HOUR);
    expect(h.runs()).toEqual([]);
    h.timers.advance(1);
    await h.settle();
    expect(h.runs().map((r) => [r.scheduledAt, r.at])).toEqual([['2027-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z']]);
  });
});

describe('schedule state file', () => {
  it('refuses a damaged file, naming it, and leaves it as it was', async () => {
    const home = await tempDir();
    const path = scheduleStatePath(home);
    await writeFile(path, '{"format":"lifeboat-schedule","version":1,"handled":{"app":{"backup":"yesterday"}}}');
    const error = await FileScheduleState.open(path).catch((e: unknown) => e);
    expect(isLifeboatError(error, 'STORE_CORRUPT')).toBe(true);
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toContain('handled.app.backup is not an ISO time: "yesterday"');
    expect(await readFile(path, 'utf8')).toContain('yesterday');
    await writeFile(path, 'not json');
    await expect(FileScheduleState.open(path)).rejects.toThrow(/not valid JSON/);
  });

  it('keeps what was handled across a reopen', async () => {
    const path = scheduleStatePath(await tempDir());
    const state = await FileScheduleState.open(path);
    await Promise.all([state.markHandled('app', 'backup', new Date('2026-01-10T02:00:00Z')), state.markHandled('app', 'drill', new Date('2026-01-12T09:00:00Z'))]);
    const reopened = await FileScheduleState.open(path);
    expect(reopened.lastHandled('app', 'backup')?.toISOString()).toBe('2026-01-10T02:00:00.000Z');
    expect(reopened.lastHandled('app', 'drill')?.toISOString()).toBe('2026-01-12T09:00:00.000Z');
    expect(reopened.lastHandled('app', 'verify')).toBeUndefined();
    expect(reopened.lastHandled('web', 'backup')).toBeUndefined();
    // Many marks at once (a first start records every pair) all reach the file.
    const names = Array.from({ length: 50 }, (_, i) => `rb-${i}`);
    await Promise.all(names.map((n, i) => reopened.markHandled(n, 'verify', new Date(Date.UTC(2026, 0, 1, 0, i)))));
    const third = await FileScheduleState.open(path);
    expect(names.map((n) => third.lastHandled(n, 'verify')?.getUTCMinutes())).toEqual(names.map((_, i) => i));
    expect(third.lastHandled('app', 'backup')?.toISOString()).toBe('2026-01-10T02:00:00.000Z');
  });
});
