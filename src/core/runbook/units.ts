/**
 * Strict parsers for the units runbooks are written in. Each throws a USAGE
 * error that quotes the input and shows what would have been accepted, so the
 * same messages serve runbooks and command-line arguments. Anything not in the
 * grammar is refused rather than guessed: `1.5.h`, `15M` (minutes or months?),
 * `KB` (1000 or 1024?) and bare numbers all fail.
 */
import { LifeboatError } from '../errors.js';

const durationUnits = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type DurationUnit = keyof typeof durationUnits;
const durationOrder: readonly DurationUnit[] = ['w', 'd', 'h', 'm', 's', 'ms'];

/** Decimal units (SI) and binary units (IEC); `KB` is left out on purpose, it means either. */
const sizeUnits = {
  B: 1,
  kB: 1_000,
  MB: 1_000_000,
  GB: 1_000_000_000,
  TB: 1_000_000_000_000,
  KiB: 1_024,
  MiB: 1_048_576,
  GiB: 1_073_741_824,
  TiB: 1_099_511_627_776,
} as const;
type SizeUnit = keyof typeof sizeUnits;

export const DURATION_EXAMPLES = 'e.g. 15m, 26h, 30d';
export const SIZE_EXAMPLES = 'e.g. 512MiB, 1GiB, 10MB';
export const BANDWIDTH_EXAMPLES = 'e.g. 50MiB/s, 10MB/s';
export const PERCENTAGE_EXAMPLES = 'e.g. 10%, 0.5%';

/** Human-readable unit tables, for help texts and the runbook reference. */
export const DURATION_UNITS_TEXT = 'ms, s, m (minutes), h, d, w; combine from largest to smallest: 1h30m';
export const SIZE_UNITS_TEXT = `B, kB, MB, GB, TB (powers of 1000), KiB, MiB, GiB, TiB (powers of 1024)`;

function unitError(message: string, input: string): LifeboatError {
  return new LifeboatError('USAGE', message, { details: { input } });
}

const durationPart = /(\d+)(ms|w|d|h|m|s)/y;

/** `26h` → 93 600 000. Parts must be integers, each unit at most once, largest first. */
export function parseDuration(input: string): number {
  const text = String(input);
  if (/^\d+$/.test(text)) {
    throw unitError(`Duration without a unit: "${text}" (expected ${DURATION_EXAMPLES})`, text);
  }
  let pos = 0;
  let total = 0;
  let lastRank = -1;
  while (pos < text.length) {
    durationPart.lastIndex = pos;
    const m = durationPart.exec(text);
    const unit = m?.[2] as DurationUnit | undefined;
    const rank = unit === undefined ? -1 : durationOrder.indexOf(unit);
    if (!m || unit === undefined || rank <= lastRank) {
      throw unitError(`Unknown duration: "${text}" (expected ${DURATION_EXAMPLES})`, text);
    }
    total += Number(m[1]) * durationUnits[unit];
    lastRank = rank;
    pos = durationPart.lastIndex;
  }
  if (pos === 0) throw unitError(`Unknown duration: "${text}" (expected ${DURATION_EXAMPLES})`, text);
  if (!Number.isSafeInteger(total)) throw unitError(`Duration too long: "${text}" (expected ${DURATION_EXAMPLES})`, text);
  return total;
}

const sizePattern = /^(\d+(?:\.\d+)?)(B|kB|MB|GB|TB|KiB|MiB|GiB|TiB)$/;

function parseSizeText(text: string, what: 'size' | 'bandwidth', examples: string): number {
  const m = sizePattern.exec(text);
  if (!m) {
    if (/^\d+(?:\.\d+)?$/.test(text)) {
      throw unitError(`${what === 'size' ? 'Size' : 'Bandwidth'} without a unit: "${text}" (expected ${examples})`, text);
    }
    throw unitError(`Unknown ${what}: "${text}" (expected ${examples})`, text);
  }
  const bytes = Math.round(Number(m[1]) * sizeUnits[m[2] as SizeUnit]);
  if (!Number.isSafeInteger(bytes)) throw unitError(`${what === 'size' ? 'Size' : 'Bandwidth'} too large: "${text}" (expected ${examples})`, text);
  return bytes;
}

/** `1GiB` → 1 073 741 824 bytes. Fractions are allowed (`1.5GiB`) and rounded to a byte. */
export function parseSize(input: string): number {
  return parseSizeText(String(input), 'size', SIZE_EXAMPLES);
}

/** `50MiB/s` → bytes per second. */
export function parseBandwidth(input: string): number {
  const text = String(input);
  if (!text.endsWith('/s')) {
    if (sizePattern.test(text)) throw unitError(`Bandwidth without "/s": "${text}" (expected ${BANDWIDTH_EXAMPLES})`, text);
    if (/^\d+(?:\.\d+)?$/.test(text)) throw unitError(`Bandwidth without a unit: "${text}" (expected ${BANDWIDTH_EXAMPLES})`, text);
    throw unitError(`Unknown bandwidth: "${text}" (expected ${BANDWIDTH_EXAMPLES})`, text);
  }
  const size = text.slice(0, -2);
  if (/^\d+(?:\.\d+)?$/.test(size)) throw unitError(`Bandwidth without a unit: "${text}" (expected ${BANDWIDTH_EXAMPLES})`, text);
  if (!sizePattern.test(size)) throw unitError(`Unknown bandwidth: "${text}" (expected ${BANDWIDTH_EXAMPLES})`, text);
  return parseSizeText(size, 'bandwidth', BANDWIDTH_EXAMPLES);
}

/** `10%` → 0.1. From 0% to 100% inclusive. */
export function parsePercentage(input: string): number {
  const text = String(input);
  if (/^-\d+(?:\.\d+)?%$/.test(text)) throw unitError(`Negative percentage: "${text}" (expected 0% to 100%)`, text);
  if (/^\d+(?:\.\d+)?$/.test(text)) throw unitError(`Percentage without a % sign: "${text}" (expected ${PERCENTAGE_EXAMPLES})`, text);
  const m = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (!m) throw unitError(`Unknown percentage: "${text}" (expected ${PERCENTAGE_EXAMPLES})`, text);
  const value = Number(m[1]);
  if (value > 100) throw unitError(`Percentage over 100%: "${text}" (expected 0% to 100%)`, text);
  // Dividing the written number (not multiplying by 0.01) keeps 10% exactly 0.1.
  return value / 100;
}
