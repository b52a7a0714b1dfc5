import { Box, Text } from 'ink';
import type { AlertRecord } from '../../core/index.js';
import { statusTone, theme } from '../theme.js';
import { fit, relative } from '../view-text.js';

export interface AlertsPaneProps {
  /** Open alerts of every runbook. */
  alerts: readonly AlertRecord[];
  cursor: number;
  now: Date;
  rows: number;
}

/** Open alerts; `a` acknowledges the selected one through the `ack` command. */
export function AlertsPane({ alerts, cursor, now, rows }: AlertsPaneProps) {
  if (alerts.length === 0) {
    return (
      <Box flexDirection="column">
        <Text bold>alerts</Text>
        <Text color={theme.tone('ok')}>{`${theme.symbol.ok} no open alerts`}</Text>
      </Box>
    );
  }
  const height = Math.max(2, Math.floor((rows - 4) / 2));
  const start = Math.max(0, Math.min(cursor - Math.floor(height / 2), alerts.length - height));
  const sel = alerts[cursor];
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>{`${alerts.length} open alert${alerts.length === 1 ? '' : 's'}`}</Text>
        <Text color={theme.tone('muted')}> · a: acknowledge the selected one</Text>
      </Text>
      {alerts.slice(start, start + height).map((a, i) => {
        const tone = statusTone(a.severity);
        const isSel = start + i === cursor;
        return (
          <Box key={a.key} flexDirection="column">
            <Text wrap="truncate-end" bold={isSel}>
              <Text color={theme.tone('accent')}>{isSel ? '▸ ' : '  '}</Text>
              <Text color={theme.tone(tone)}>{`${theme.symbol[tone]} ${fit(a.severity, 9)}`}</Text>
              {`${fit(a.key, 24)} ${a.ackedBy ? `acked by ${a.ackedBy}` : 'not acked'} · seen ${a.count}× · ${relative(a.lastSeen, now)}`}
            </Text>
            <Text wrap="truncate-end" color={theme.tone('muted')}>{`      ${a.message}`}</Text>
          </Box>
        );
      })}
      {sel && <Text color={theme.tone('muted')} wrap="truncate-end">{`rule ${sel.rule} · runbook ${sel.runbook} · first seen ${relative(sel.firstSeen, now)}`}</Text>}
    </Box>
  );
}
