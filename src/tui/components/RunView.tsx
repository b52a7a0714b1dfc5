import { Box, Text } from 'ink';
import { formatBytes, formatDuration, formatRate } from '../../core/index.js';
import type { LiveRun, LiveStage } from '../state.js';
import { statusTone, theme } from '../theme.js';
import { fit, relative, shortRunId } from '../view-text.js';
import { ProgressBar } from './ProgressBar.js';

export interface RunViewProps {
  /** The run to show in full. */
  run?: LiveRun;
  /** Every live run, newest first, for the list at the top (↑/↓ picks). */
  runs: readonly LiveRun[];
  now: Date;
  columns: number;
  /** Rows available to the view. */
  rows: number;
}

function stageLine(s: LiveStage): string {
  const c = s.counters;
  const parts: string[] = [];
  if (c.files !== undefined) parts.push(`${c.files} files`);
  if (c.bytes !== undefined) parts.push(formatBytes(c.bytes));
  else if (c.bytesRead !== undefined) parts.push(`${formatBytes(c.bytesRead)} read`);
  if (c.bytesNew !== undefined) parts.push(`${formatBytes(c.bytesNew)} new`);
  if (c.bytesStored !== undefined) parts.push(`${formatBytes(c.bytesStored)} stored`);
  if (c.objects !== undefined) parts.push(`${c.objects} objects`);
  if (c.forgotten !== undefined) parts.push(`${c.forgotten} forgotten`);
  const took = s.startedAt && s.endedAt ? formatDuration(new Date(s.endedAt).getTime() - new Date(s.startedAt).getTime()) : '';
  return [took, ...parts].filter(Boolean).join(' · ');
}

function StageRow({ stage, columns }: { stage: LiveStage; columns: number }) {
  const tone = statusTone(stage.status);
  const p = stage.progress;
  const head = `${theme.symbol[tone]} ${fit(stage.name, 10)}${fit(stage.status, 10)}`;
  if (stage.status === 'running' && p) {
    const fraction = p.totalBytes ? p.bytes / p.totalBytes : p.totalFiles ? p.files / p.totalFiles : undefined;
    const numbers = `${formatBytes(p.bytes)}${p.totalBytes !== undefined ? `/${formatBytes(p.totalBytes)}` : ''} · ${p.files}${p.totalFiles !== undefined ? `/${p.totalFiles}` : ''} files · ${formatRate(p.rate)} · ETA ${p.etaSeconds !== undefined ? formatDuration(p.etaSeconds * 1000) : '—'}`;
    return (
      <Box flexDirection="column">
        <Text>
          <Text color={theme.tone(tone)}>{head}</Text>
          <ProgressBar fraction={fraction} width={Math.max(10, Math.min(30, columns - 40))} />
        </Text>
        <Text wrap="truncate-end">{`    ${numbers}`}</Text>
      </Box>
    );
  }
  return (
    <Text wrap="truncate-end">
      <Text color={theme.tone(tone)}>{head}</Text>
      <Text color={stage.error ? theme.tone('fail') : undefined}>{stage.error ? `${stage.error.code}: ${stage.error.message}` : stageLine(stage)}</Text>
    </Text>
  );
}

/** A live run: its stages with progress bars (bytes, files, rate, ETA), hook output tail, retries and the verdict; a drill's RTO phases. */
export function RunView({ run, runs, now, columns, rows }: RunViewProps) {
  if (!run) {
    return (
      <Box flexDirection="column">
        <Text>No runs yet in this session.</Text>
        <Text color={theme.tone('muted')}>Start one with :backup &lt;runbook&gt; or b on the dashboard; runs started elsewhere appear here too.</Text>
      </Box>
    );
  }
  const tone = statusTone(run.status);
  const others = runs.filter((r) => r.id !== run.id).slice(0, 2);
  const verdict = verdictLine(run);
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        <Text bold>{`${run.kind} ${run.runbook} `}</Text>
        <Text color={theme.tone(tone)}>{`${theme.symbol[tone]} ${run.status}`}</Text>
        <Text color={theme.tone('muted')}>
          {` · run ${shortRunId(run.id)} · started ${relative(run.startedAt, now)}${run.endedAt ? ` · took ${formatDuration(new Date(run.endedAt).getTime() - new Date(run.startedAt).getTime())}` : ''} · ${run.origin === 'here' ? 'live' : `from store (${run.actor ?? 'elsewhere'}), stage updates`}`}
        </Text>
      </Text>
      <Box flexDirection="column" marginTop={1}>
        {run.stages.length === 0 && !run.drill && <Text color={theme.tone('muted')}>{run.status === 'running' ? 'starting…' : 'no stages recorded'}</Text>}
        {run.stages.map((s) => (
          <StageRow key={s.name} stage={s} columns={columns} />
        ))}
        {run.drill && run.drill.phases.length > 0 && (
          <Box flexDirection="column">
            <Text color={theme.tone('muted')}>RTO phases</Text>
            {run.drill.phases.map((p) => (
              <Text key={p.name}>{`  ${fit(p.name, 9)}${fit(formatDuration(p.durationMs), 9, 'right')}${p.bytes !== undefined ? `  ${fit(formatBytes(p.bytes), 10, 'right')}  ${formatRate(p.throughput)}` : ''}`}</Text>
            ))}
          </Box>
        )}
      </Box>
      {run.retries.length > 0 && (
        <Text color={theme.tone('warn')} wrap="truncate-end">{`${theme.symbol.warn} ${run.retries.length} retr${run.retries.length === 1 ? 'y' : 'ies'}; last: ${run.retries.at(-1)!.operation} attempt ${run.retries.at(-1)!.attempt}: ${run.retries.at(-1)!.error}`}</Text>
      )}
      {run.hookTail.length > 0 && (
        <Box flexDirection="column" marginTop={1}>
          <Text color={theme.tone('muted')}>hook output</Text>
          {run.hookTail.slice(-Math.max(2, rows - 16)).map((l, i) => (
            <Text key={i} wrap="truncate-end">{`  ${l}`}</Text>
          ))}
        </Box>
      )}
      {run.logs.length > 0 && <Text color={theme.tone('warn')} wrap="truncate-end">{run.logs.at(-1)}</Text>}
      {verdict && (
        <Box marginTop={1}>
          <Text color={theme.tone(verdict.tone)} bold wrap="truncate-end">{verdict.text}</Text>
        </Box>
      )}
      {others.length > 0 && (
        <Box marginTop={1} flexDirection="column">
          <Text color={theme.tone('muted')}>{`other runs (↑/↓): ${others.map((r) => `${theme.symbol[statusTone(r.status)]} ${r.kind} ${r.runbook} ${r.status}`).join(' · ')}`}</Text>
        </Box>
      )}
    </Box>
  );
}

function verdictLine(run: LiveRun): { text: string; tone: ReturnType<typeof statusTone> } | undefined {
  if (run.status === 'running') return undefined;
  if (run.drill && run.drill.verdict !== 'running') {
    const d = run.drill;
    const tone = statusTone(d.verdict);
    return { text: `${theme.symbol[tone]} drill ${d.verdict}: RTO ${formatDuration(d.rtoMs)} against a ${formatDuration(d.targetMs)} target${d.reason ? ` — ${d.reason}` : ''}`, tone };
  }
  const tone = statusTone(run.status);
  const s = run.stats;
  const totals = s ? ` · ${s.files ?? '?'} files, ${formatBytes(s.bytes ?? s.bytesRead)} read, ${formatBytes(s.bytesNew)} new, ${formatBytes(s.bytesStored)} stored` : '';
  return { text: `${theme.symbol[tone]} ${run.kind} ${run.status}${run.error ? `: ${run.error.message}` : ''}${totals}`, tone };
}
