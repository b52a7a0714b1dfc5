import { Box, Text } from 'ink';
import { formatBytes, formatDuration, formatTime, type HostView } from '../../core/index.js';
import type { LiveRun, RunbookView } from '../state.js';
import { statusTone, theme, type Tone } from '../theme.js';
import { fit, relative, short, shortRunId, sparkline } from '../view-text.js';

export interface DashboardProps {
  runbooks: readonly RunbookView[];
  /** Index of the selected row. */
  selected: number;
  /** Live runs, to show a runbook that is running right now. */
  runs: readonly LiveRun[];
  now: Date;
  columns: number;
  /** True until the first poll of the store has answered. */
  loading: boolean;
  /** The fleet's hosts (PostgreSQL store): a runbook whose host is lost or never seen shows it in the HOST cell. */
  hosts?: readonly HostView[];
}

interface Cell {
  text: string;
  tone?: Tone;
  width: number;
}

/** The HOST column's width with its gap: shown only when a runbook names a host, so a single machine's console keeps its columns. */
const HOST_WIDTH = 9;

function widths(columns: number) {
  // Made for 80 columns; extra width goes to the runbook name and the last backup,
  // a narrower terminal takes it from the last backup, the RTO and the name first.
  const extra = Math.max(0, columns - 80);
  let deficit = Math.max(0, 80 - columns);
  const take = (max: number) => {
    const t = Math.min(deficit, max);
    deficit -= t;
    return t;
  };
  const last = 19 + Math.max(0, Math.min(extra - 10, 10)) - take(6);
  const rto = 18 - take(5);
  const name = 10 + Math.min(extra, 10) - take(3);
  const next = 9 - take(2);
  return { mark: 2, name, last, rpo: 13, next, rto, alerts: 8 - take(3) };
}

function rpoCell(rb: RunbookView): { text: string; tone: Tone } {
  const tone = rb.rpoMs === undefined ? 'muted' : rb.rpoState === 'ok' ? (rb.ageMs !== undefined && rb.ageMs > rb.rpoMs * 0.8 ? 'warn' : 'ok') : 'fail';
  const word = rb.rpoState === 'no backup' ? 'none ' : '';
  return { text: `${theme.symbol[tone]} ${word}${short(rb.ageMs)}/${short(rb.rpoMs)}`, tone };
}

function rtoCell(rb: RunbookView): { text: string; tone: Tone } {
  const d = rb.lastDrill;
  if (!d) return { text: `${theme.symbol.muted} no drill`, tone: 'muted' };
  const tone = statusTone(d.verdict);
  return { text: `${theme.symbol[tone]} ${short(d.rtoMs)}/${short(d.targetMs)} ${sparkline(rb.rtoTrendMs)}`, tone };
}

function lastCell(rb: RunbookView, running: LiveRun | undefined, now: Date): { text: string; tone: Tone } {
  if (running) {
    const stage = running.stages.find((s) => s.status === 'running')?.name ?? 'starting';
    return { text: `${theme.symbol.running} ${running.kind} ${stage}`, tone: 'running' };
  }
  const r = rb.lastRun;
  if (!r) return { text: `${theme.symbol.muted} never`, tone: 'muted' };
  const tone = statusTone(r.status);
  return { text: `${theme.symbol[tone]} ${r.status} ${relative(r.endedAt ?? r.startedAt, now).replace(' ago', '')}`, tone };
}

function Row({ cells, selected }: { cells: Cell[]; selected: boolean }) {
  return (
    <Box>
      {cells.map((c, i) => (
        <Text key={i} color={c.tone ? theme.tone(c.tone) : undefined} bold={selected && i <= 1} inverse={false}>
          {fit(c.text, c.width - 1) + ' '}
        </Text>
      ))}
    </Box>
  );
}

/** A row per runbook (last backup, age against RPO, next backup, last RTO against target with its trend, open alerts) and the selected runbook's detail. */
/** The HOST cell: the name, marked when its agent is not up. */
function hostCell(host: string | undefined, hosts: readonly HostView[] | undefined): { text: string; tone?: Tone } {
  if (host === undefined) return { text: 'any', tone: 'muted' };
  const state = hosts?.find((h) => h.name === host)?.state;
  if (state === 'lost' || state === 'never-seen') return { text: `${theme.symbol.fail} ${host}`, tone: 'fail' };
  return { text: host };
}

export function Dashboard({ runbooks, selected, runs, now, columns, loading, hosts }: DashboardProps) {
  const fleet = runbooks.some((r) => r.host !== undefined);
  // The host column's room is taken from the others as a narrower terminal's would be.
  const w = { ...widths(fleet ? columns - HOST_WIDTH : columns), host: fleet ? HOST_WIDTH : 0 };
  if (runbooks.length === 0) {
    return <Text color={theme.tone('muted')}>{loading ? 'loading runbooks…' : 'no runbooks found (LIFEBOAT_RUNBOOKS, default ./runbooks)'}</Text>;
  }
  const header: Cell[] = [
    { text: ' ', width: w.mark },
    { text: 'RUNBOOK', width: w.name },
    ...(fleet ? [{ text: 'HOST', width: w.host }] : []),
    { text: 'LAST BACKUP', width: w.last },
    { text: 'AGE/RPO', width: w.rpo },
    { text: 'NEXT', width: w.next },
    { text: 'RTO/TARGET TREND', width: w.rto },
    { text: 'ALERTS', width: w.alerts },
  ];
  const rb = runbooks[selected];
  return (
    <Box flexDirection="column">
      <Text color={theme.tone('muted')} wrap="truncate-end">
        {header.map((c) => fit(c.text, c.width - 1) + ' ').join('')}
      </Text>
      {runbooks.map((r, i) => {
        const running = runs.find((x) => x.runbook === r.name && x.status === 'running');
        const last = lastCell(r, running, now);
        const rpo = rpoCell(r);
        const rto = rtoCell(r);
        const critical = r.openAlerts.some((a) => a.severity === 'critical');
        const alertTone: Tone = r.openAlerts.length === 0 ? 'ok' : critical ? 'fail' : 'warn';
        return (
          <Row
            key={r.name}
            selected={i === selected}
            cells={[
              { text: i === selected ? '▸' : ' ', width: w.mark, tone: 'accent' },
              { text: r.valid ? r.name : `${r.name} (invalid)`, width: w.name, tone: r.valid ? undefined : 'fail' },
              ...(fleet ? [{ ...hostCell(r.host, hosts), width: w.host }] : []),
              { text: last.text, width: w.last, tone: last.tone },
              { text: rpo.text, width: w.rpo, tone: rpo.tone },
              { text: relative(r.nextBackup, now), width: w.next },
              { text: rto.text, width: w.rto, tone: rto.tone },
              { text: `${theme.symbol[alertTone]} ${r.openAlerts.length}`, width: w.alerts, tone: alertTone },
            ]}
          />
        );
      })}
      {rb && <RunbookDetail rb={rb} now={now} columns={columns} />}
    </Box>
  );
}

function Line({ label, children, tone }: { label: string; children: string; tone?: Tone }) {
  return (
    <Box>
      <Box width={13} flexShrink={0}>
        <Text color={theme.tone('muted')}>{label}</Text>
      </Box>
      <Text color={tone ? theme.tone(tone) : undefined} wrap="truncate-end">
        {children}
      </Text>
    </Box>
  );
}

/** A heading padded with a rule to the screen width. */
function rule(head: string, columns: number): string {
  return head + '─'.repeat(Math.max(0, columns - 1 - head.length));
}

function RunbookDetail({ rb, now, columns }: { rb: RunbookView; now: Date; columns: number }) {
  const last = rb.lastRun;
  const good = rb.lastSuccess;
  const rpo = rpoCell(rb);
  const d = rb.lastDrill;
  const drillTone = d ? statusTone(d.verdict) : 'muted';
  const alerts = rb.openAlerts;
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text bold wrap="truncate-end">
        {rule(`── ${rb.name}${rb.description ? ` — ${rb.description}` : ''} `, columns)}
      </Text>
      <Line label="last backup" tone={statusTone(last?.status)}>
        {last ? `${theme.symbol[statusTone(last.status)]} ${last.status} ${relative(last.endedAt ?? last.startedAt, now)} · run ${shortRunId(last.id)}` : 'never backed up'}
      </Line>
      <Line label="RPO" tone={rpo.tone}>
        {rb.rpoMs === undefined
          ? 'invalid runbook'
          : good
            ? `${theme.symbol[rpo.tone]} ${rb.rpoState === 'ok' ? 'ok' : rb.rpoState}: newest good backup ${formatDuration(rb.ageMs)} old, objective ${formatDuration(rb.rpoMs)}${rb.lastStoredBytes !== undefined ? ` · repo ${formatBytes(rb.lastStoredBytes)}` : ''}`
            : `${theme.symbol.fail} no good backup yet, objective ${formatDuration(rb.rpoMs)}`}
      </Line>
      {rb.host !== undefined && <Line label="host">{`${rb.host} (its agent runs this runbook's jobs)`}</Line>}
      <Line label="next">{`backup ${relative(rb.nextBackup, now)}${rb.nextBackup ? ` (${formatTime(rb.nextBackup)})` : ''} · drill ${relative(rb.nextDrill, now)}`}</Line>
      <Line label="last drill" tone={drillTone}>
        {d
          ? `${theme.symbol[drillTone]} ${d.verdict}: RTO ${formatDuration(d.rtoMs)}, target ${formatDuration(d.targetMs)}${d.estimated ? ' (estimated)' : ''} · ${relative(d.endedAt ?? d.startedAt, now)}${rb.rtoTrendMs.length > 1 ? ` · trend ${sparkline(rb.rtoTrendMs)}` : ''}`
          : `no drill yet (target ${formatDuration(rb.rtoTargetMs)}) — D runs one`}
      </Line>
      {rb.cold && <ColdLine cold={rb.cold} />}
      <Line label="alerts" tone={alerts.length === 0 ? 'ok' : 'warn'}>
        {alerts.length === 0 ? `${theme.symbol.ok} none open` : alerts.slice(0, 2).map((a) => `${theme.symbol[statusTone(a.severity)]} [${a.severity}] ${a.message}`).join(' · ')}
      </Line>
    </Box>
  );
}

/** The cold tier's RTO: a measured drill, or an estimate from the thaw table and measured throughput, marked as such. */
function ColdLine({ cold }: { cold: NonNullable<RunbookView['cold']> }) {
  const r = cold.rto;
  const tone: Tone = r ? statusTone(r.verdict) : 'muted';
  return (
    <Line label="cold RTO" tone={tone}>
      {r
        ? `${theme.symbol[tone]} ${r.verdict}: ${r.basis === 'estimated' ? 'estimated ' : ''}${formatDuration(r.rtoMs)}, target ${formatDuration(r.targetMs)} · ${cold.storageClass}`
        : `${cold.reason ?? 'not measured'} · ${cold.storageClass}`}
    </Line>
  );
}
