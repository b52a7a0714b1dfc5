/** Times as a runbook's owners read them: wall clock in the runbook's zone, with the offset so it is never ambiguous. */
import { offsetMinutes } from './cron.js';

const weekdays = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** "Mon 2026-03-30 10:00 +02:00" (seconds shown only when not zero). */
export function formatZoned(instant: Date, timezone: string): string {
  const offset = offsetMinutes(instant, timezone);
  const wall = new Date(instant.getTime() + offset * 60_000);
  const pad = (n: number) => String(n).padStart(2, '0');
  const seconds = wall.getUTCSeconds() !== 0 ? `:${pad(wall.getUTCSeconds())}` : '';
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return (
    `${weekdays[wall.getUTCDay()]} ${wall.getUTCFullYear()}-${pad(wall.getUTCMonth() + 1)}-${pad(wall.getUTCDate())} ` +
    `${pad(wall.getUTCHours())}:${pad(wall.getUTCMinutes())}${seconds} ${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}
