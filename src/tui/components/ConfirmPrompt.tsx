import { Text } from 'ink';
import { theme } from '../theme.js';

export interface ConfirmPromptProps {
  question: string;
}

/** A y/n question before anything destructive or expensive runs. */
export function ConfirmPrompt({ question }: ConfirmPromptProps) {
  return (
    <Text wrap="wrap">
      <Text color={theme.tone('warn')} bold>{`${theme.symbol.warn} ${question}`}</Text>
      <Text bold> [y/n]</Text>
    </Text>
  );
}
