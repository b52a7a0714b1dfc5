/**
 * Short renderings for alert messages. An alert message is read in a Slack
 * notification or a terminal line, so durations drop their zero parts ("26h",
 * "5m", "7m12s") and ranges share their unit ("380–420 MiB").
 */

/** 950ms, 4.5s, 42s, 5m, 7m12s, 26h, 27h30m, 3d, 3d04h. Floors, like formatDuration. */
export function compactDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  const neg = ms < 0 ? '-' : '';
  ms = Math.abs(ms);
  if (ms < 1000) return `${neg}${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 10) return `${neg}${s.toFixed(1).replace(/\.0$/, '')}s`;
  if (s < 60) return `${neg}${Math.floor(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${neg}${m}m${pad(Math.floor(s % 60), 's')}`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${neg}${h}h${pad(m % 60, 'm')}`;
  return `${neg}${Math.floor(h / 24)}d${pad(h % 24, 'h')}`;
}

function pad(n: number, unit: string): string {
  return n === 0 ? '' : `${String(n).padStart(2, '0')}${unit}`;
}

/** 10,480 — grouped, so file counts read at a glance. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/**
 * "380–420 MiB" when both ends share a unit, "900 KiB–1.2 MiB" when not, and
 * just "400 MiB" when both ends render the same.
 */
export function formatRange(min: number, max: number, format: (n: number) => string): string {
  const lo = format(min);
  const hi = format(max);
  if (lo === hi) return lo;
  const unit = / ([^\d\s]+)$/;
  const loUnit = unit.exec(lo)?.[1];
  if (loUnit !== undefined && loUnit === unit.exec(hi)?.[1]) return `${lo.slice(0, -loUnit.length - 1)}–${hi}`;
  return `${lo}–${hi}`;
}

/** One line, at most `max` characters: alert messages end up in single-line renderings. */
export function oneLine(text: string, max = 300): string {
  const flat = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' / ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
