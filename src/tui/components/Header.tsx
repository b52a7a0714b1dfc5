import { Text } from 'ink';
import { screens, type Screen } from '../state.js';
import { theme } from '../theme.js';

export interface HeaderProps {
  screen: Screen;
  openAlerts: number;
}

const titles: Record<Screen, string> = { dashboard: '1 dashboard', run: '2 run', history: '3 history', alerts: '4 alerts', output: 'output', hosts: 'H hosts' };

/** The title and the screen tabs; the current one is marked with brackets as well as bold. */
export function Header({ screen, openAlerts }: HeaderProps) {
  return (
    <Text wrap="truncate-end">
      <Text bold color={theme.tone('accent')}>lifeboat </Text>
      {[...screens, ...(screen === 'output' || screen === 'hosts' ? [screen] : [])].map((s) => (
        <Text key={s} bold={s === screen} color={s === screen ? undefined : theme.tone('muted')}>
          {s === screen ? `[${titles[s]}${s === 'alerts' && openAlerts > 0 ? ` ${openAlerts}` : ''}] ` : ` ${titles[s]}${s === 'alerts' && openAlerts > 0 ? ` ${openAlerts}` : ''}  `}
        </Text>
      ))}
    </Text>
  );
}
