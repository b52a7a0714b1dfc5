import { Box, Text } from 'ink';
import { theme } from '../theme.js';

export interface CommandPromptProps {
  text: string;
  /** Candidates shown after an ambiguous Tab. */
  completions: readonly string[];
}

/** The `:` prompt for the shared commands (`:backup demo`), with Tab completion of command and runbook names. */
export function CommandPrompt({ text, completions }: CommandPromptProps) {
  return (
    <Box flexDirection="column">
      {completions.length > 0 && <Text color={theme.tone('muted')} wrap="truncate-end">{completions.join('  ')}</Text>}
      <Text>
        <Text color={theme.tone('accent')} bold>:</Text>
        <Text>{text}</Text>
        <Text inverse> </Text>
        <Text color={theme.tone('muted')}>{text === '' ? '  command (Tab completes, Enter runs, Esc closes)' : ''}</Text>
      </Text>
    </Box>
  );
}
