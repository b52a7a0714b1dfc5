import { Box, Text } from 'ink';
import type { ConsoleCommand } from '../state.js';
import { theme, type Tone } from '../theme.js';
import { relative } from '../view-text.js';

export interface StatusBarProps {
  /** Commands from this console still going. */
  running: readonly ConsoleCommand[];
  message?: { text: string; tone: Tone };
  loadedAt?: string;
  loadError?: string;
  now: Date;
}

/** The bottom lines: the last message, what is running, how fresh the data is, and the keys to remember. */
export function StatusBar({ running, message, loadedAt, loadError, now }: StatusBarProps) {
  const age = loadedAt ? now.getTime() - new Date(loadedAt).getTime() : undefined;
  // Say how old the data is only when polling has fallen behind: the screen must not look live when it is not.
  const fresh = loadError ? `${theme.symbol.fail} store: ${loadError}` : age === undefined ? 'loading…' : age < 3000 ? 'live' : `data from ${relative(loadedAt, now)}`;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" color={message ? theme.tone(message.tone) : undefined}>
        {message ? message.text : ' '}
      </Text>
      <Text wrap="truncate-end">
        {running.length > 0 && <Text color={theme.tone('running')}>{`${theme.symbol.running} ${running.map((c) => c.argv.join(' ')).join(', ')} · `}</Text>}
        <Text color={loadError ? theme.tone('fail') : theme.tone('muted')}>{fresh}</Text>
        <Text color={theme.tone('muted')}> · : command · ? help · q quit</Text>
      </Text>
    </Box>
  );
}
