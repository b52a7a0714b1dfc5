/** Small pure text helpers the components share (widths, bars, relative times). */
import { formatDuration } from '../core/index.js';

/** Pad or cut `s` to exactly `width` characters (cut with an ellipsis). */
export function fit(s: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  if (s.length > width) return width === 1 ? '…' : `${s.slice(0, width - 1)}…`;
  return align === 'left' ? s.padEnd(width) : s.padStart(width);
}

/** A text progress bar: "█████░░░░░" for a fraction 0..1, or a shaded bar when unknown. */
export function bar(fraction: number | undefined, width: number): string {
  if (width <= 0) return '';
  if (fraction === undefined || !Number.isFinite(fraction)) return '░'.repeat(width);
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

/** A duration for narrow cells: 26h, 5m, 37m, 3h12m, 12.3s, 2d11h. */
export function short(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms >= 60_000 && ms < 3_600_000) return `${Math.floor(ms / 60_000)}m`;
  return formatDuration(ms).replace(/^(\d+[hm])00[ms]$/, '$1');
}

/** "in 47m" / "3m ago" relative to now. */
export function relative(iso: string | undefined, now: Date): string {
  if (!iso) return '—';
  const d = new Date(iso).getTime() - now.getTime();
  return d >= 0 ? `in ${short(d)}` : `${short(-d)} ago`;
}

/** The last drill's RTO trend as block characters, oldest first. */
export function sparkline(values: readonly number[]): string {
  if (values.length === 0) return '';
  const blocks = '▁▂▃▄▅▆▇█';
  const max = Math.max(...values);
  const min = Math.min(...values);
  return values.map((v) => blocks[max === min ? 3 : Math.round(((v - min) / (max - min)) * 7)]).join('');
}

/** Run ids are `<UTC date>T<time>-<random>`: the time and the random part tell runs apart on one screen. */
export function shortRunId(id: string): string {
  const m = /T(\d{6})-(\w+)$/.exec(id);
  if (m) return `${m[1]}-${m[2]}`;
  return id.length > 14 ? id.slice(-14) : id;
}
