import { CronExpressionParser } from 'cron-parser';
import { describe, expect, it } from 'vitest';
import { cronSchedule, nextFire, offsetMinutes, previousFire } from '../../../src/core/schedule/cron.js';
import { isLifeboatError } from '../../../src/core/errors.js';

/** Every fire in [from, to), walking nextAfter. */
function firesBetween(expr: string, tz: string, from: string, to: string): string[] {
  const cron = cronSchedule(expr, tz);
  const out: string[] = [];
  for (let t = cron.nextAfter(new Date(new Date(from).getTime() - 1)); t && t < new Date(to); t = cron.nextAfter(t)) out.push(t.toISOString());
  return out;
}

describe('cron fire times in a time zone', () => {
  it('reads the expression in the runbook time zone', () => {
    // 02:00 in Berlin is 01:00 UTC in winter, 00:00 UTC in summer.
    expect(nextFire('0 2 * * *', 'Europe/Berlin', new Date('2026-01-10T12:00:00Z'))?.toISOString()).toBe('2026-01-11T01:00:00.000Z');
    expect(nextFire('0 2 * * *', 'Europe/Berlin', new Date('2026-07-10T12:00:00Z'))?.toISOString()).toBe('2026-07-11T00:00:00.000Z');
    expect(nextFire('0 10 * * 1', 'America/New_York', new Date('2026-03-04T00:00:00Z'))?.toISOString()).toBe('2026-03-09T14:00:00.000Z');
    expect(nextFire('0 2 * * *', undefined, new Date('2026-01-10T12:00:00Z'))?.toISOString()).toBe('2026-01-11T02:00:00.000Z');
  });

  it('next is strictly after, previous is at or before', () => {
    const at = new Date('2026-01-01T02:00:00Z');
    expect(nextFire('0 * * * *', 'UTC', at)?.toISOString()).toBe('2026-01-01T03:00:00.000Z');
    expect(previousFire('0 * * * *', 'UTC', at)?.toISOString()).toBe('2026-01-01T02:00:00.000Z');
    expect(previousFire('0 * * * *', 'UTC', new Date(at.getTime() - 1))?.toISOString()).toBe('2026-01-01T01:00:00.000Z');
    expect(nextFire('*/10 * * * * *', 'UTC', new Date('2026-01-01T00:00:05.500Z'))?.toISOString()).toBe('2026-01-01T00:00:10.000Z');
  });

  it('refuses a bad expression or zone with a coded error naming it', () => {
    let error: unknown;
    try {
      cronSchedule('61 * * * *', 'UTC');
    } catch (e) {
      error = e;
    }
    expect(isLifeboatError(error, 'RUNBOOK_INVALID')).toBe(true);
    expect((error as Error).message).toContain('"61 * * * *"');
    expect(() => cronSchedule('0 * * * *', 'Mars/Olympus_Mons')).toThrow(/Mars\/Olympus_Mons/);
  });
});

describe('daylight saving changes (Europe/Berlin 2026)', () => {
  it('what cron-parser does alone: loses the spring fire when started after the jump, doubles the autumn one when started in the repeated hour', () => {
    // The reasons cron.ts does not take cron-parser's answer as is.
    const from = (expr: string, start: string) => CronExpressionParser.parse(expr, { tz: 'Europe/Berlin', currentDate: new Date(start) }).next().toDate().toISOString();
    expect(from('30 2 * * *', '2026-03-29T01:10:00Z')).toBe('2026-03-30T00:30:00.000Z');
    expect(from('30 2 * * *', '2026-10-25T01:00:00Z')).toBe('2026-10-25T01:30:00.000Z');
  });

  it('spring forward 2026-03-29 (02:00 → 03:00): a daily 02:30 job fires exactly once, at 03:30 CEST', () => {
    const fires = firesBetween('30 2 * * *', 'Europe/Berlin', '2026-03-27T22:00:00Z', '2026-03-31T22:00:00Z');
    expect(fires).toEqual(['2026-03-28T01:30:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z']);
    const onTheDay = fires.filter((f) => f >= '2026-03-28T23:00:00Z' && f < '2026-03-29T22:00:00Z');
    expect(onTheDay).toEqual(['2026-03-29T01:30:00.000Z']);
  });

  it('spring forward: asked from anywhere that day, the answer is the same single fire', () => {
    for (const start of ['2026-03-28T23:59:00Z', '2026-03-29T00:59:59Z', '2026-03-29T01:00:00Z', '2026-03-29T01:10:00Z', '2026-03-29T01:29:59Z']) {
      expect(nextFire('30 2 * * *', 'Europe/Berlin', new Date(start))?.toISOString(), start).toBe('2026-03-29T01:30:00.000Z');
    }
    expect(previousFire('30 2 * * *', 'Europe/Berlin', new Date('2026-03-30T00:00:00Z'))?.toISOString()).toBe('2026-03-29T01:30:00.000Z');
    expect(previousFire('30 2 * * *', 'Europe/Berlin', new Date('2026-03-29T01:29:00Z'))?.toISOString()).toBe('2026-03-28T01:30:00.000Z');
  });

  it('fall back 2026-10-25 (03:00 → 02:00): a daily 02:30 job fires exactly once, at the first 02:30 (CEST)', () => {
    const fires = firesBetween('30 2 * * *', 'Europe/Berlin', '2026-10-23T22:00:00Z', '2026-10-26T23:00:00Z');
    expect(fires).toEqual(['2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
    // Asked from inside the repeated hour (a restart or reload then), the second 02:30 is not a fire.
    for (const start of ['2026-10-25T00:30:00Z', '2026-10-25T01:00:00Z', '2026-10-25T01:29:59Z']) {
      expect(nextFire('30 2 * * *', 'Europe/Berlin', new Date(start))?.toISOString(), start).toBe('2026-10-26T01:30:00.000Z');
    }
    expect(previousFire('30 2 * * *', 'Europe/Berlin', new Date('2026-10-25T01:45:00Z'))?.toISOString()).toBe('2026-10-25T00:30:00.000Z');
    expect(previousFire('30 2 * * *', 'Europe/Berlin', new Date('2026-10-26T01:29:00Z'))?.toISOString()).toBe('2026-10-25T00:30:00.000Z');
  });

  it('fall back: an hourly job runs in both passes of the repeated hour (each is an hour of real time)', () => {
    expect(firesBetween('0 * * * *', 'Europe/Berlin', '2026-10-24T23:30:00Z', '2026-10-25T03:30:00Z')).toEqual([
      '2026-10-25T00:00:00.000Z', // 02:00 CEST
      '2026-10-25T01:00:00.000Z', // 02:00 CET
      '2026-10-25T02:00:00.000Z',
      '2026-10-25T03:00:00.000Z',
    ]);
    // Every two hours is not every hour: the repeated 02:00 does not fire again.
    expect(firesBetween('0 */2 * * *', 'Europe/Berlin', '2026-10-24T21:30:00Z', '2026-10-25T05:30:00Z')).toEqual([
      '2026-10-24T22:00:00.000Z',
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T03:00:00.000Z',
      '2026-10-25T05:00:00.000Z',
    ]);
  });

  it('expressions that run every hour are right from any start, inside the jump or the repeated hour', () => {
    expect(nextFire('*/15 * * * *', 'Europe/Berlin', new Date('2026-03-29T01:10:00Z'))?.toISOString()).toBe('2026-03-29T01:15:00.000Z');
    expect(nextFire('*/15 * * * *', 'Europe/Berlin', new Date('2026-10-25T01:05:00Z'))?.toISOString()).toBe('2026-10-25T01:15:00.000Z');
    expect(nextFire('0 * * * *', 'Europe/Berlin', new Date('2026-10-25T00:30:00Z'))?.toISOString()).toBe('2026-10-25T01:00:00.000Z');
    expect(previousFire('0 * * * *', 'Europe/Berlin', new Date('2026-10-25T01:30:00Z'))?.toISOString()).toBe('2026-10-25T01:00:00.000Z');
  });

  it('New York (2026-03-08 and 2026-11-01) gets the same treatment', () => {
    expect(firesBetween('30 2 * * *', 'America/New_York', '2026-03-07T05:00:00Z', '2026-03-09T05:00:00Z')).toEqual(['2026-03-07T07:30:00.000Z', '2026-03-08T07:30:00.000Z']);
    expect(firesBetween('30 1 * * *', 'America/New_York', '2026-10-31T04:00:00Z', '2026-11-02T05:00:00Z')).toEqual(['2026-10-31T05:30:00.000Z', '2026-11-01T05:30:00.000Z']);
  });

  it('knows the zone offsets either side of a change', () => {
    expect(offsetMinutes(new Date('2026-07-01T00:00:00Z'), 'Europe/Berlin')).toBe(120);
    expect(offsetMinutes(new Date('2026-01-01T00:00:00Z'), 'Europe/Berlin')).toBe(60);
    expect(offsetMinutes(new Date('2026-10-25T00:59:59Z'), 'Europe/Berlin')).toBe(120);
    expect(offsetMinutes(new Date('2026-10-25T01:00:00Z'), 'Europe/Berlin')).toBe(60);
    expect(offsetMinutes(new Date('2026-03-08T12:00:00Z'), 'America/New_York')).toBe(-240);
  });
});
