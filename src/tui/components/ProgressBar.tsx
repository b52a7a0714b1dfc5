import { Text } from 'ink';
import { theme, type Tone } from '../theme.js';
import { bar } from '../view-text.js';

export interface ProgressBarProps {
  /** 0..1, or undefined while the total is unknown. */
  fraction?: number;
  /** Width of the bar itself, in cells. */
  width: number;
  tone?: Tone;
}

/** A bar with its percentage: `██████░░░░  60%`, readable without colour. */
export function ProgressBar({ fraction, width, tone = 'accent' }: ProgressBarProps) {
  const pct = fraction === undefined ? ' ---' : `${String(Math.floor(Math.max(0, Math.min(1, fraction)) * 100)).padStart(3)}%`;
  return (
    <Text>
      <Text color={theme.tone(tone)}>{bar(fraction, width)}</Text>
      <Text>{` ${pct}`}</Text>
    </Text>
  );
}
