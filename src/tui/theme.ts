/**
 * The console's one theme. Every colour means something (ok, warn, fail,
 * muted, accent) and every state also carries a symbol and a word, so the
 * screen reads the same with NO_COLOR (https://no-color.org) or on a
 * monochrome terminal.
 */

export type Tone = 'ok' | 'warn' | 'fail' | 'muted' | 'accent' | 'running';

export interface Theme {
  /** False under NO_COLOR: components then pass no colour to Ink at all. */
  color: boolean;
  /** The Ink colour name for a tone, or undefined when colour is off. */
  tone(t: Tone): string | undefined;
  symbol: Record<Tone, string>;
}

const colours: Record<Tone, string> = {
  ok: 'green',
  warn: 'yellow',
  fail: 'red',
  muted: 'gray',
  accent: 'cyan',
  running: 'blue',
};

// Symbols differ in shape, not only in colour: ✓ ! ✗ · ▶
const symbols: Record<Tone, string> = { ok: '✓', warn: '!', fail: '✗', muted: '·', accent: '»', running: '▶' };

export function createTheme(env: Readonly<Record<string, string | undefined>>): Theme {
  // no-color.org: any non-empty value disables colour.
  const color = !(env.NO_COLOR !== undefined && env.NO_COLOR !== '');
  return { color, tone: (t) => (color ? colours[t] : undefined), symbol: symbols };
}

export const theme: Theme = createTheme(process.env);

/** The tone of a run or stage status. */
export function statusTone(status: string | undefined): Tone {
  switch (status) {
    case 'succeeded':
    case 'met':
    case 'ok':
      return 'ok';
    case 'partial':
    case 'missed':
    case 'blocked':
    case 'transfer-pending':
    case 'cancelled':
    case 'warning':
    case 'STALE':
      return 'warn';
    case 'failed':
    case 'critical':
    case 'no backup':
      return 'fail';
    case 'running':
      return 'running';
    default:
      return 'muted';
  }
}
