import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isLifeboatError } from '../../../src/core/errors.js';
import {
  applyRetention,
  formatWithin,
  isoWeek,
  renderRetentionPlan,
  type RetentionInput,
  type RetentionPlan,
} from '../../../src/core/pipeline/retention-policy.js';
import type { RetentionPolicy } from '../../../src/core/runbook/types.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const goldenDir = fileURLToPath(new URL('./golden/', import.meta.url));

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const idFor = (time: string) => createHash('sha256').update(`snapshot ${time}`).digest('hex');
const snap = (time: string, id = idFor(time)): RetentionInput => ({ id, time });

/**
 * The golden year: one snapshot a day at 02:00 UTC from 2025-12-01 to 2026-11-30,
 * no backups on 2026-11-26 and 2026-11-27 (so `daily 7` has to reach past the gap),
 * and extra hourly clusters on 2026-11-30, 2026-11-29 and 2026-03-15.
 */
function goldenYear(): RetentionInput[] {
  const out: RetentionInput[] = [];
  const gap = new Set(['2026-11-26', '2026-11-27']);
  for (let ms = Date.parse('2025-12-01T02:00:00Z'); ms <= Date.parse('2026-11-30T02:00:00Z'); ms += DAY) {
    const t = iso(ms);
    if (!gap.has(t.slice(0, 10))) out.push(snap(t));
  }
  const clusters = [
    ['2026-11-30T06:00:00Z', 2],
    ['2026-11-29T08:00:00Z', 4],
    ['2026-03-15T12:00:00Z', 2],
  ] as const;
  for (const [start, n] of clusters) {
    for (let i = 0; i < n; i++) out.push(snap(iso(Date.parse(start) + i * HOUR)));
  }
  return out;
}

const now = new Date('2026-11-30T12:00:00Z');

const goldenPolicies: { name: string; policy: RetentionPolicy; kept: number }[] = [
  { name: 'last-5', policy: { last: 5 }, kept: 5 },
  { name: 'daily-7', policy: { daily: 7 }, kept: 7 },
  { name: 'weekly-4', policy: { weekly: 4 }, kept: 4 },
  { name: 'monthly-12', policy: { monthly: 12 }, kept: 12 },
  { name: 'yearly-2', policy: { yearly: 2 }, kept: 2 },
  // 2026-11-01 … 2026-11-30 minus the 2 gap days = 28 dailies, plus 4 + 2 hourly extras.
  { name: 'within-30d', policy: { withinMs: 30 * DAY }, kept: 34 },
  // 7 dailies + the 2 other `last` snapshots of 2026-11-30 + weekly 2026-W46 + monthly 2025-12 … 2026-10;
  // yearly 2026 and 2025 fall on snapshots already kept by daily and monthly.
  { name: 'combined', policy: { last: 3, daily: 7, weekly: 4, monthly: 12, yearly: 2 }, kept: 7 + 2 + 1 + 11 },
];

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

function checkGolden(name: string, actual: string): void {
  const file = `${goldenDir}retention-${name}.txt`;
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, actual);
  expect(existsSync(file), `${file} missing: run with UPDATE_GOLDEN=1 and review it`).toBe(true);
  const expected = lines(readFileSync(file, 'utf8'));
  const got = lines(actual);
  for (let i = 0; i < Math.max(expected.length, got.length); i++) {
    expect(got[i], `retention-${name}.txt line ${i + 1}`).toBe(expected[i]);
  }
}

function keptIds(plan: RetentionPlan): string[] {
  return plan.keep.map((k) => k.id);
}

describe('applyRetention golden year', () => {
  const year = goldenYear();

  it('the golden data set has the expected shape', () => {
    expect(year).toHaveLength(365 - 2 + 8);
  });

  for (const { name, policy, kept } of goldenPolicies) {
    it(`${name} matches retention-${name}.txt`, () => {
      const plan = applyRetention(year, policy, { now });
      const text = renderRetentionPlan(plan);
      checkGolden(name, text);
      expect(plan.keep.length + plan.forget.length).toBe(year.length);
      expect(lines(text)).toHaveLength(year.length);
      expect(plan.keep).toHaveLength(kept);
      expect(lines(text).filter((l) => l.startsWith('keep ')).length).toBe(kept);
      for (const f of plan.forget) expect(f.reason).toMatch(/^not selected by any rule: /);
      for (const k of plan.keep) expect(k.reasons.length).toBeGreaterThan(0);
    });
  }

  it('last 5 keeps the five newest, numbered', () => {
    const plan = applyRetention(year, { last: 5 }, { now });
    expect(plan.keep.map((k) => [k.time, k.reasons])).toEqual([
      ['2026-11-30T07:00:00Z', ['last 5 (#1)']],
      ['2026-11-30T06:00:00Z', ['last 5 (#2)']],
      ['2026-11-30T02:00:00Z', ['last 5 (#3)']],
      ['2026-11-29T11:00:00Z', ['last 5 (#4)']],
      ['2026-11-29T10:00:00Z', ['last 5 (#5)']],
    ]);
    expect(plan.forget[0]?.reason).toBe('not selected by any rule: older than the last 5 kept');
  });

  it('daily 7 keeps the newest snapshot of the 7 newest days that have one, skipping the gap', () => {
    const plan = applyRetention(year, { daily: 7 }, { now });
    expect(plan.keep.map((k) => [k.time, k.reasons])).toEqual([
      ['2026-11-30T07:00:00Z', ['daily 7 (2026-11-30)']],
      ['2026-11-29T11:00:00Z', ['daily 7 (2026-11-29)']],
      ['2026-11-28T02:00:00Z', ['daily 7 (2026-11-28)']],
      ['2026-11-25T02:00:00Z', ['daily 7 (2026-11-25)']],
      ['2026-11-24T02:00:00Z', ['daily 7 (2026-11-24)']],
      ['2026-11-23T02:00:00Z', ['daily 7 (2026-11-23)']],
      ['2026-11-22T02:00:00Z', ['daily 7 (2026-11-22)']],
    ]);
    const byTime = new Map(plan.forget.map((f) => [f.time, f.reason]));
    expect(byTime.get('2026-11-30T06:00:00Z')).toBe('not selected by any rule: a newer snapshot is kept for daily 2026-11-30');
    expect(byTime.get('2026-11-21T02:00:00Z')).toBe('not selected by any rule: older than the 7 daily kept');
  });

  it('weekly 4 uses ISO weeks (2026-11-30 is the Monday of 2026-W49)', () => {
    const plan = applyRetention(year, { weekly: 4 }, { now });
    expect(plan.keep.map((k) => [k.time, k.reasons])).toEqual([
      ['2026-11-30T07:00:00Z', ['weekly 4 (2026-W49)']],
      ['2026-11-29T11:00:00Z', ['weekly 4 (2026-W48)']], // a Sunday
      ['2026-11-22T02:00:00Z', ['weekly 4 (2026-W47)']],
      ['2026-11-15T02:00:00Z', ['weekly 4 (2026-W46)']],
    ]);
  });

  it('monthly 12 and yearly 2 keep the last snapshot of each month / year', () => {
    const monthly = applyRetention(year, { monthly: 12 }, { now });
    expect(monthly.keep.map((k) => k.time)).toEqual([
      '2026-11-30T07:00:00Z',
      '2026-10-31T02:00:00Z',
      '2026-09-30T02:00:00Z',
      '2026-08-31T02:00:00Z',
      '2026-07-31T02:00:00Z',
      '2026-06-30T02:00:00Z',
      '2026-05-31T02:00:00Z',
      '2026-04-30T02:00:00Z',
      '2026-03-31T02:00:00Z',
      '2026-02-28T02:00:00Z',
      '2026-01-31T02:00:00Z',
      '2025-12-31T02:00:00Z',
    ]);
    const yearly = applyRetention(year, { yearly: 2 }, { now });
    expect(yearly.keep.map((k) => [k.time, k.reasons])).toEqual([
      ['2026-11-30T07:00:00Z', ['yearly 2 (2026)']],
      ['2025-12-31T02:00:00Z', ['yearly 2 (2025)']],
    ]);
  });

  it('within 30d keeps everything strictly newer than now − 30d', () => {
    const plan = applyRetention(year, { withinMs: 30 * DAY }, { now });
    expect(plan.keep.at(-1)?.time).toBe('2026-11-01T02:00:00Z');
    expect(plan.forget[0]).toMatchObject({ time: '2026-10-31T02:00:00Z', reason: 'not selected by any rule: not within 30d' });
    for (const k of plan.keep) expect(k.reasons).toEqual(['within 30d']);
  });

  it('combined policy: every kept snapshot lists every rule that selected it', () => {
    const policy = { last: 3, daily: 7, weekly: 4, monthly: 12, yearly: 2 };
    const plan = applyRetention(year, policy, { now });
    const union = new Set<string>();
    for (const single of [{ last: 3 }, { daily: 7 }, { weekly: 4 }, { monthly: 12 }, { yearly: 2 }]) {
      for (const id of keptIds(applyRetention(year, single, { now }))) union.add(id);
    }
    // Kept by the combination = kept by any one rule alone (restic's union semantics).
    expect(new Set(keptIds(plan))).toEqual(union);
    // 7 dailies (2026-11-22 … 11-30 less the gap) + 2 more of `last` on 11-30 + weekly W46
    // + monthly 2025-12 … 2026-10 (11) of which none overlaps the above; yearly 2025 = monthly 2025-12.
    expect(plan.keep).toHaveLength(7 + 2 + 1 + 11);
    expect(plan.keep[0]).toEqual({
      id: idFor('2026-11-30T07:00:00Z'),
      time: '2026-11-30T07:00:00Z',
      reasons: ['last 3 (#1)', 'daily 7 (2026-11-30)', 'weekly 4 (2026-W49)', 'monthly 12 (2026-11)', 'yearly 2 (2026)'],
    });
    expect(plan.keep.find((k) => k.time === '2026-11-22T02:00:00Z')?.reasons).toEqual([
      'daily 7 (2026-11-22)',
      'weekly 4 (2026-W47)',
    ]);
    expect(plan.keep.find((k) => k.time === '2025-12-31T02:00:00Z')?.reasons).toEqual([
      'monthly 12 (2025-12)',
      'yearly 2 (2025)',
    ]);
    const byTime = new Map(plan.forget.map((f) => [f.time, f.reason]));
    expect(byTime.get('2026-11-29T10:00:00Z')).toBe(
      'not selected by any rule: older than the last 3 kept; a newer snapshot is kept for daily 2026-11-29, weekly 2026-W48, monthly 2026-11, yearly 2026',
    );
    expect(byTime.get('2026-11-21T02:00:00Z')).toBe(
      'not selected by any rule: older than the last 3, 7 daily kept; a newer snapshot is kept for weekly 2026-W47, monthly 2026-11, yearly 2026',
    );
    expect(byTime.get('2025-12-01T02:00:00Z')).toBe(
      'not selected by any rule: older than the last 3, 7 daily, 4 weekly kept; a newer snapshot is kept for monthly 2025-12, yearly 2025',
    );
  });
});

describe('applyRetention edge cases', () => {
  it('keeps everything, with a reason, when the policy has no rule', () => {
    const snaps = [snap('2026-01-01T00:00:00Z'), snap('2026-01-02T00:00:00Z')];
    for (const policy of [{}, { last: 0, daily: 0, withinMs: 0 }]) {
      const plan = applyRetention(snaps, policy, { now });
      expect(plan.forget).toEqual([]);
      expect(plan.keep.map((k) => [k.time, k.reasons])).toEqual([
        ['2026-01-02T00:00:00Z', ['no retention policy']],
        ['2026-01-01T00:00:00Z', ['no retention policy']],
      ]);
    }
  });

  it('handles no snapshots and fewer snapshots than N', () => {
    expect(applyRetention([], { daily: 7 }, { now })).toEqual({ keep: [], forget: [] });
    expect(renderRetentionPlan({ keep: [], forget: [] })).toBe('');
    const snaps = [snap('2026-11-28T02:00:00Z'), snap('2026-11-29T02:00:00Z'), snap('2026-11-29T03:00:00Z')];
    const plan = applyRetention(snaps, { last: 10, daily: 7, weekly: 4, monthly: 12, yearly: 5 }, { now });
    expect(plan.forget).toEqual([]);
    expect(plan.keep.map((k) => k.reasons)).toEqual([
      ['last 10 (#1)', 'daily 7 (2026-11-29)', 'weekly 4 (2026-W48)', 'monthly 12 (2026-11)', 'yearly 5 (2026)'],
      ['last 10 (#2)'],
      ['last 10 (#3)', 'daily 7 (2026-11-28)'],
    ]);
  });

  it('orders equal times by id and does not depend on input order', () => {
    const t = '2026-11-29T02:00:00Z';
    const snaps = [snap(t, 'bbbb0000'), snap(t, 'aaaa0000'), snap('2026-11-28T02:00:00Z', 'cccc0000'), snap(t, 'abcd0000')];
    const plan = applyRetention(snaps, { last: 1, daily: 2 }, { now });
    expect(plan.keep.map((k) => [k.id, k.reasons])).toEqual([
      ['aaaa0000', ['last 1 (#1)', 'daily 2 (2026-11-29)']],
      ['cccc0000', ['daily 2 (2026-11-28)']],
    ]);
    expect(plan.forget.map((f) => f.id)).toEqual(['abcd0000', 'bbbb0000']);
    const reversed = applyRetention([...snaps].reverse(), { last: 1, daily: 2 }, { now });
    expect(reversed).toEqual(plan);
    expect(renderRetentionPlan(reversed)).toBe(renderRetentionPlan(plan));
  });

  it('does not modify its input', () => {
    const snaps = Object.freeze([snap('2026-11-28T02:00:00Z'), snap('2026-11-29T02:00:00Z')].map((s) => Object.freeze(s)));
    expect(() => applyRetention(snaps, { last: 1 }, { now })).not.toThrow();
    expect(snaps[0]?.time).toBe('2026-11-28T02:00:00Z');
  });

  it('buckets days in the given time zone: 23:30 UTC is the next day in Berlin', () => {
    const snaps = [snap('2026-11-24T12:00:00Z'), snap('2026-11-24T23:30:00Z')];
    const utc = applyRetention(snaps, { daily: 5 }, { now });
    expect(utc.keep.map((k) => [k.time, k.reasons])).toEqual([['2026-11-24T23:30:00Z', ['daily 5 (2026-11-24)']]]);
    expect(utc.forget.map((f) => f.reason)).toEqual(['not selected by any rule: a newer snapshot is kept for daily 2026-11-24']);
    const berlin = applyRetention(snaps, { daily: 5 }, { now, timezone: 'Europe/Berlin' });
    expect(berlin.keep.map((k) => [k.time, k.reasons])).toEqual([
      ['2026-11-24T23:30:00Z', ['daily 5 (2026-11-25)']],
      ['2026-11-24T12:00:00Z', ['daily 5 (2026-11-24)']],
    ]);
    expect(berlin.forget).toEqual([]);
  });

  it('buckets weeks, months and years across midnight in the time zone too', () => {
    // 2026-12-31T23:30Z is 2027-01-01 00:30 in Berlin: a new year, a new month, and ISO week 2026-W53.
    const snaps = [snap('2026-12-31T20:00:00Z'), snap('2026-12-31T23:30:00Z')];
    const later = new Date('2027-01-02T00:00:00Z');
    const berlin = applyRetention(snaps, { weekly: 5, monthly: 5, yearly: 5 }, { now: later, timezone: 'Europe/Berlin' });
    expect(berlin.keep.map((k) => k.reasons)).toEqual([
      ['weekly 5 (2026-W53)', 'monthly 5 (2027-01)', 'yearly 5 (2027)'],
      ['monthly 5 (2026-12)', 'yearly 5 (2026)'],
    ]);
    const tokyo = applyRetention(snaps, { yearly: 5 }, { now: later, timezone: 'Asia/Tokyo' });
    expect(tokyo.keep.map((k) => k.reasons)).toEqual([['yearly 5 (2027)']]);
  });

  it('spring-forward DST day in Berlin has 23 hours, each its own hourly period', () => {
    // Hourly snapshots from 2026-03-28T22:00Z (23:00 CET) to 2026-03-29T22:00Z (00:00 CEST on the 30th).
    const snaps: RetentionInput[] = [];
    for (let ms = Date.parse('2026-03-28T22:00:00Z'); ms <= Date.parse('2026-03-29T22:00:00Z'); ms += HOUR) snaps.push(snap(iso(ms)));
    expect(snaps).toHaveLength(25);
    const opts = { now: new Date('2026-03-30T12:00:00Z'), timezone: 'Europe/Berlin' };
    const daily = applyRetention(snaps, { daily: 10 }, opts);
    expect(daily.keep.map((k) => [k.time, k.reasons])).toEqual([
      ['2026-03-29T22:00:00Z', ['daily 10 (2026-03-30)']],
      ['2026-03-29T21:00:00Z', ['daily 10 (2026-03-29)']], // 23:00 CEST
      ['2026-03-28T22:00:00Z', ['daily 10 (2026-03-28)']],
    ]);
    // The 29th in Berlin runs from 23:00Z on the 28th to 22:00Z on the 29th: 23 snapshots.
    expect(daily.forget).toHaveLength(22);
    const hourly = applyRetention(snaps, { hourly: 100 }, opts);
    expect(hourly.forget).toEqual([]);
    const labels = hourly.keep.map((k) => k.reasons[0]);
    expect(labels).toContain('hourly 100 (2026-03-29 01:00)');
    expect(labels).toContain('hourly 100 (2026-03-29 03:00)');
    expect(labels).not.toContain('hourly 100 (2026-03-29 02:00)'); // skipped by the clocks
  });

  it('fall-back DST day in Berlin: the repeated 02:00 hour is one hourly period', () => {
    const snaps: RetentionInput[] = [];
    for (let ms = Date.parse('2026-10-24T22:00:00Z'); ms <= Date.parse('2026-10-25T23:00:00Z'); ms += HOUR) snaps.push(snap(iso(ms)));
    const opts = { now: new Date('2026-10-26T12:00:00Z'), timezone: 'Europe/Berlin' };
    const hourly = applyRetention(snaps, { hourly: 100 }, opts);
    // 00:00Z is 02:00 CEST, 01:00Z is 02:00 CET: the newer one is kept for that hour.
    expect(hourly.forget).toEqual([
      {
        id: idFor('2026-10-25T00:00:00Z'),
        time: '2026-10-25T00:00:00Z',
        reason: 'not selected by any rule: a newer snapshot is kept for hourly 2026-10-25 02:00',
      },
    ]);
    expect(hourly.keep.find((k) => k.time === '2026-10-25T01:00:00Z')?.reasons).toEqual(['hourly 100 (2026-10-25 02:00)']);
    // The 25th in Berlin runs from 22:00Z on the 24th to 23:00Z on the 25th: 25 hours.
    const daily = applyRetention(snaps, { daily: 10 }, opts);
    expect(daily.keep.map((k) => [k.time, k.reasons])).toEqual([
      ['2026-10-25T23:00:00Z', ['daily 10 (2026-10-26)']],
      ['2026-10-25T22:00:00Z', ['daily 10 (2026-10-25)']],
    ]);
    expect(daily.forget).toHaveLength(24);
  });

  it('hourly periods in UTC', () => {
    const snaps = ['2026-11-29T10:05:00Z', '2026-11-29T10:55:00Z', '2026-11-29T11:00:00Z', '2026-11-29T09:59:59Z'].map((t) => snap(t));
    const plan = applyRetention(snaps, { hourly: 2 }, { now });
    expect(plan.keep.map((k) => [k.time, k.reasons])).toEqual([
      ['2026-11-29T11:00:00Z', ['hourly 2 (2026-11-29 11:00)']],
      ['2026-11-29T10:55:00Z', ['hourly 2 (2026-11-29 10:00)']],
    ]);
    expect(plan.forget.map((f) => f.reason)).toEqual([
      'not selected by any rule: a newer snapshot is kept for hourly 2026-11-29 10:00',
      'not selected by any rule: older than the 2 hourly kept',
    ]);
  });

  it('within: a snapshot exactly at now − D is outside, one ms later is inside; durations read naturally', () => {
    const edge = now.getTime() - 2 * DAY;
    const snaps = [snap(iso(edge)), snap(new Date(edge + 1).toISOString())];
    const plan = applyRetention(snaps, { withinMs: 2 * DAY }, { now });
    expect(plan.keep.map((k) => k.time)).toEqual([new Date(edge + 1).toISOString()]);
    expect(plan.forget.map((f) => f.time)).toEqual([iso(edge)]);
    expect(formatWithin(30 * DAY)).toBe('30d');
    expect(formatWithin(DAY + 12 * HOUR)).toBe('1d12h');
    expect(formatWithin(90 * 60_000)).toBe('1h30m');
    expect(formatWithin(1500)).toBe('1s500ms');
  });

  it('keeps a snapshot whose time cannot be parsed, and lists it last', () => {
    const snaps = [snap('not a time', 'ffff0000'), snap('2026-11-29T02:00:00Z', 'aaaa0000'), snap('2026-11-28T02:00:00Z', 'bbbb0000')];
    const plan = applyRetention(snaps, { last: 1 }, { now });
    expect(plan.keep.map((k) => [k.id, k.reasons])).toEqual([
      ['aaaa0000', ['last 1 (#1)']],
      ['ffff0000', ['time "not a time" is not a valid timestamp, kept to be safe']],
    ]);
    expect(lines(renderRetentionPlan(plan)).map((l) => l.slice(0, 15))).toEqual(['keep   aaaa0000', 'forget bbbb0000', 'keep   ffff0000']);
  });

  it('rejects malformed policies and unknown time zones with USAGE errors', () => {
    const cases: [RetentionPolicy, { timezone?: string }][] = [
      [{ daily: -1 }, {}],
      [{ last: 1.5 }, {}],
      [{ withinMs: Number.NaN }, {}],
      [{ daily: 1 }, { timezone: 'Mars/Olympus_Mons' }],
    ];
    for (const [policy, extra] of cases) {
      let error: unknown;
      try {
        applyRetention([], policy, { now, ...extra });
      } catch (e) {
        error = e;
      }
      expect(isLifeboatError(error, 'USAGE'), JSON.stringify(policy)).toBe(true);
    }
  });

  it('ISO weeks at year boundaries', () => {
    expect(isoWeek(2026, 1, 1)).toEqual({ year: 2026, week: 1 }); // Thursday
    expect(isoWeek(2027, 1, 1)).toEqual({ year: 2026, week: 53 }); // Friday
    expect(isoWeek(2024, 12, 30)).toEqual({ year: 2025, week: 1 }); // Monday
    expect(isoWeek(2021, 1, 3)).toEqual({ year: 2020, week: 53 }); // Sunday
    expect(isoWeek(2026, 11, 30)).toEqual({ year: 2026, week: 49 });
  });

  it('renders one aligned line per snapshot with the short id', () => {
    const plan: RetentionPlan = {
      keep: [{ id: '0123456789abcdef', time: '2026-11-30T02:00:00Z', reasons: ['last 3 (#1)', 'within 30d'] }],
      forget: [{ id: 'fedcba9876543210', time: '2026-11-29T02:00:00Z', reason: 'not selected by any rule: older than the last 1 kept' }],
    };
    expect(renderRetentionPlan(plan)).toBe(
      'keep   01234567  2026-11-30T02:00:00Z  last 3 (#1), within 30d\n' +
        'forget fedcba98  2026-11-29T02:00:00Z  not selected by any rule: older than the last 1 kept\n',
    );
  });
});
