/**
 * Rounds of one op do the same work, so their user CPU should agree; on this VM
 * the host's own load can inflate it by a third for a while, and the guest sees
 * no steal (docs/performance.md, ninth stop), so "other CPU s" cannot show it.
 * A spread over USER_SPREAD, and over USER_SPREAD_S (a short op's rounds differ by
 * tenths anyway), flags the op: its medians may hold an inflated round.
 * Used by the local bench (bench/run.ts) and the S3 bench (bench/s3.ts).
 */
const USER_SPREAD = 1.15;
const USER_SPREAD_S = 0.5;

/** One op of one tool: the least and most user CPU one of its rounds took. */
export interface UserCpuRange {
  op: string;
  tool: string;
  minUserS: number | null;
  maxUserS: number | null;
}

/** The least and most of `users` (user CPU s per round), or nulls when there is none. */
export function userCpuRange(users: readonly number[]): Pick<UserCpuRange, 'minUserS' | 'maxUserS'> {
  return users.length === 0 ? { minUserS: null, maxUserS: null } : { minUserS: Math.min(...users), maxUserS: Math.max(...users) };
}

/** A `# …` line for each op whose rounds' user CPU lies too far apart; `label` names the dataset or run. */
export function cpuSpreadWarnings(label: string, rows: readonly UserCpuRange[]): string[] {
  return rows
    .filter((r) => r.minUserS !== null && r.maxUserS !== null && r.minUserS > 0 && r.maxUserS / r.minUserS > USER_SPREAD && r.maxUserS - r.minUserS > USER_SPREAD_S)
    .map(
      (r) =>
        `# ${label}, ${r.op} ${r.tool}: user CPU ${r.minUserS!.toFixed(1)}–${r.maxUserS!.toFixed(1)} s across rounds for the same work (> ${Math.round((USER_SPREAD - 1) * 100)}% apart): ` +
        'the CPU was slower in some rounds (the host busy; the guest reports no steal) — compare those rounds with care',
    );
}
