import { Box, Text } from 'ink';
import type { HostView } from '../../core/index.js';
import { statusTone, theme, type Tone } from '../theme.js';
import { fit, relative } from '../view-text.js';

export interface HostsPaneProps {
  /** The fleet's hosts from the last poll (core's hostsView, as `lifeboat hosts` shows them). */
  hosts: readonly HostView[];
  now: Date;
  columns: number;
  rows: number;
}

const STATE: Record<HostView['state'], { text: string; tone: Tone }> = {
  up: { text: 'up', tone: 'ok' },
  lost: { text: 'LOST', tone: 'fail' },
  'never-seen': { text: 'never seen', tone: 'warn' },
  local: { text: 'this machine', tone: 'muted' },
};

/** A line per host (state, last seen, version, running job) and one per runbook of it with its last backup. Esc goes back. */
export function HostsPane({ hosts, now, columns, rows }: HostsPaneProps) {
  const counts = (['up', 'lost', 'never-seen'] as const).map((s) => [s, hosts.filter((h) => h.state === s).length] as const).filter(([, n]) => n > 0);
  const lines = hosts.flatMap((h) => {
    const state = STATE[h.state];
    const running = h.runningJob === null ? '' : ` · running ${h.runningJob.kind} of ${h.runningJob.runbook}`;
    const head = (
      <Text key={h.name} wrap="truncate-end">
        <Text bold>{fit(h.name, 14)}</Text>
        <Text color={theme.tone(state.tone)}>{`${theme.symbol[state.tone]} ${fit(state.text, 11)}`}</Text>
        {`seen ${h.lastSeen === undefined ? 'never' : relative(h.lastSeen, now)}${h.version !== undefined ? ` · ${h.version}` : ''}${running}`}
      </Text>
    );
    const runbooks = h.runbooks.map((r) => {
      const last = r.lastBackup;
      const tone = last === undefined ? 'muted' : statusTone(last.status);
      return (
        <Text key={`${h.name}/${r.name}`} wrap="truncate-end">
          {`    ${fit(r.name, Math.max(10, Math.min(24, columns - 40)))} `}
          <Text color={theme.tone(tone)}>{last === undefined ? `${theme.symbol.muted} never backed up` : `${theme.symbol[tone]} ${last.status} ${relative(last.at, now)}`}</Text>
        </Text>
      );
    });
    return [head, ...runbooks];
  });
  const room = Math.max(1, rows - 2);
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>{`${hosts.length} host${hosts.length === 1 ? '' : 's'}`}</Text>
        <Text color={theme.tone('muted')}>{` (${counts.map(([s, n]) => `${n} ${s === 'never-seen' ? 'never seen' : s}`).join(', ') || 'none yet'}) · Esc: back`}</Text>
      </Text>
      {lines.slice(0, room)}
      {lines.length > room && <Text color={theme.tone('muted')}>{`… ${lines.length - room} more lines: lifeboat hosts shows them all`}</Text>}
    </Box>
  );
}
