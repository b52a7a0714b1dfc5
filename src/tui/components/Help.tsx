import { Box, Text } from 'ink';
import { theme } from '../theme.js';

/** Every key the console understands, by where it works. Kept next to the reducer's key handling (state.ts applyKey). */
export const keyHelp: readonly { keys: string; what: string }[] = [
  { keys: '1 2 3 4, Tab', what: 'dashboard, run view, history, alerts (Tab cycles, Shift-Tab back)' },
  { keys: '↑ ↓, j k', what: 'move the selection (runbook, run, history entry, alert)' },
  { keys: 'Enter', what: 'dashboard: history of the runbook · history: open/close the detail' },
  { keys: 'Esc', what: 'close the detail, prompt or question; back to the dashboard' },
  { keys: 'b', what: 'back up the selected runbook' },
  { keys: 'D', what: 'restore drill of the selected runbook (asks first)' },
  { keys: 'c', what: 'check the repository of the selected runbook' },
  { keys: 's', what: "browse the selected runbook's snapshots: folders, preview, find, diff, restore" },
  { keys: 'H', what: 'hosts of the fleet: agents, last seen, running job, runbooks (PostgreSQL store)' },
  { keys: 'a', what: 'alerts: acknowledge the selected alert' },
  { keys: 'f', what: 'history: filter all / backups / drills' },
  { keys: ':', what: 'command prompt: any lifeboat command, e.g. :backup demo, :restore-drill demo' },
  { keys: '  Tab ↑ ↓', what: 'prompt: complete command and runbook names; earlier lines' },
  { keys: 'y / n', what: 'answer a confirmation (drills, restores onto a path, forget/prune, quit while running)' },
  { keys: '?', what: 'this help (Esc or ? closes)' },
  { keys: 'q, Ctrl-C', what: 'quit (asks first while a command runs)' },
];

export function Help() {
  return (
    <Box flexDirection="column">
      <Text bold>keys</Text>
      {keyHelp.map((k) => (
        <Text key={k.keys} wrap="truncate-end">
          <Text color={theme.tone('accent')}>{k.keys.padEnd(14)}</Text>
          {k.what}
        </Text>
      ))}
      <Text color={theme.tone('muted')}>Colours: green ok ✓ · yellow warn ! · red fail ✗ · blue running ▶ · grey muted · (NO_COLOR keeps the symbols)</Text>
    </Box>
  );
}
