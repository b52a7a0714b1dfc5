import { Box, Text } from 'ink';
import type { ConsoleCommand } from '../state.js';
import { theme } from '../theme.js';
import { fit } from '../view-text.js';

export interface OutputViewProps {
  command?: ConsoleCommand;
  rows: number;
}

/** The neutral result of a command that started no run: summary, table, lines. */
export function OutputView({ command, rows }: OutputViewProps) {
  if (!command) return <Text color={theme.tone('muted')}>no command output yet</Text>;
  const ok = command.exitCode === 0;
  const table = command.table;
  const widths = table?.columns.map((c) => Math.min(40, Math.max(c.header.length, ...table.rows.map((r) => (r[c.key] ?? '').length)))) ?? [];
  const body: string[] = [];
  if (table) {
    body.push(table.columns.map((c, i) => fit(c.header, widths[i]!, c.align)).join('  '));
    for (const r of table.rows) body.push(table.columns.map((c, i) => fit(r[c.key] ?? '', widths[i]!, c.align)).join('  '));
  }
  body.push(...(command.lines ?? []));
  const room = Math.max(3, rows - 3);
  return (
    <Box flexDirection="column">
      <Text bold>{`:${command.argv.join(' ')}`}</Text>
      <Text color={theme.tone(ok ? 'ok' : 'fail')} wrap="truncate-end">{`${theme.symbol[ok ? 'ok' : 'fail']} ${command.summary ?? `exit ${command.exitCode}`}`}</Text>
      {body.slice(0, room).map((l, i) => (
        <Text key={i} wrap="truncate-end">{l}</Text>
      ))}
      {body.length > room && <Text color={theme.tone('muted')}>{`… ${body.length - room} more lines (run it in a shell for all)`}</Text>}
      <Text color={theme.tone('muted')}>Esc: back</Text>
    </Box>
  );
}
