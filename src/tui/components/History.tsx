import { Box, Text } from 'ink';
import { displayPath, formatBytes, formatDuration, formatRate, formatTime, type DrillRecord, type RunRecord } from '../../core/index.js';
import type { HistoryEntry, HistoryFilter } from '../state.js';
import { statusTone, theme } from '../theme.js';
import { fit, relative, short, shortRunId } from '../view-text.js';

export interface HistoryProps {
  runbook?: string;
  entries: readonly HistoryEntry[];
  cursor: number;
  /** Show the selected entry in full instead of the list. */
  detail: boolean;
  filter: HistoryFilter;
  now: Date;
  /** Rows available for the list. */
  rows: number;
}

function took(start: string, end?: string): string {
  return end ? short(new Date(end).getTime() - new Date(start).getTime()) : '…';
}

function entryLine(e: HistoryEntry, now: Date): { text: string; status: string } {
  if (e.kind === 'run') {
    const r = e.run;
    const s = r.stats;
    return { status: r.status, text: `${fit(r.kind, 8)}${fit(r.status, 17)}${fit(relative(r.startedAt, now), 12)}${fit(took(r.startedAt, r.endedAt), 8)}${s ? `${s.files ?? '?'} files ${formatBytes(s.bytesNew)} new` : ''}` };
  }
  const d = e.drill;
  return { status: d.verdict, text: `${fit('drill', 8)}${fit(d.verdict, 17)}${fit(relative(d.startedAt, now), 12)}${fit(took(d.startedAt, d.endedAt), 8)}RTO ${formatDuration(d.rtoMs)}/${formatDuration(d.targetMs)}${d.path !== undefined ? ` · path ${displayPath(d.path)}` : ''}` };
}

/** Runs and drills of the selected runbook (f filters), with a detail view of one (Enter): stages, counters, errors, RTO phases. */
export function History({ runbook, entries, cursor, detail, filter, now, rows }: HistoryProps) {
  if (!runbook) return <Text color={theme.tone('muted')}>no runbook selected</Text>;
  const selected = entries[cursor];
  if (detail && selected) return selected.kind === 'run' ? <RunDetail run={selected.run} now={now} /> : <DrillDetail drill={selected.drill} now={now} />;
  const height = Math.max(3, rows - 2);
  const start = Math.max(0, Math.min(cursor - Math.floor(height / 2), entries.length - height));
  const visible = entries.slice(start, start + height);
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>{`history of ${runbook}`}</Text>
        <Text color={theme.tone('muted')}>{` · showing ${filter} (f) · ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} · Enter: detail`}</Text>
      </Text>
      <Text color={theme.tone('muted')}>{`    ${fit('KIND', 8)}${fit('STATUS', 17)}${fit('STARTED', 12)}${fit('TOOK', 8)}RESULT`}</Text>
      {entries.length === 0 && <Text color={theme.tone('muted')}>  nothing yet</Text>}
      {visible.map((e, i) => {
        const line = entryLine(e, now);
        const tone = statusTone(line.status);
        const isSel = start + i === cursor;
        return (
          <Text key={e.kind === 'run' ? e.run.id : e.drill.id} wrap="truncate-end" bold={isSel}>
            <Text color={theme.tone('accent')}>{isSel ? '▸ ' : '  '}</Text>
            <Text color={theme.tone(tone)}>{theme.symbol[tone]} </Text>
            {line.text}
          </Text>
        );
      })}
    </Box>
  );
}

function Field({ label, value, tone }: { label: string; value: string; tone?: ReturnType<typeof statusTone> }) {
  return (
    <Box>
      <Box width={12} flexShrink={0}>
        <Text color={theme.tone('muted')}>{label}</Text>
      </Box>
      <Text color={tone ? theme.tone(tone) : undefined} wrap="truncate-end">
        {value}
      </Text>
    </Box>
  );
}

function RunDetail({ run, now }: { run: RunRecord; now: Date }) {
  const tone = statusTone(run.status);
  const stats = run.stats ? Object.entries(run.stats).map(([k, v]) => `${k} ${/bytes/i.test(k) ? formatBytes(v) : v}`).join(' · ') : '—';
  return (
    <Box flexDirection="column">
      <Text bold>{`${run.kind} ${run.runbook} · run ${run.id}`}</Text>
      <Field label="status" value={`${theme.symbol[tone]} ${run.status}`} tone={tone} />
      <Field label="started" value={`${formatTime(run.startedAt)} (${relative(run.startedAt, now)}) by ${run.actor.face}:${run.actor.user} on ${run.host}`} />
      <Field label="took" value={took(run.startedAt, run.endedAt)} />
      {run.snapshotId && <Field label="snapshot" value={run.snapshotId.slice(0, 16)} />}
      <Field label="counters" value={stats} />
      {run.error && <Field label="error" value={`${run.error.code}: ${run.error.message}`} tone="fail" />}
      {run.failedSources?.map((f) => <Field key={f.name} label="failed" value={`${f.name}: ${f.error.message}`} tone="fail" />)}
      <Text color={theme.tone('muted')}>stages</Text>
      {run.stages.map((s) => {
        const st = statusTone(s.status);
        const counters = Object.entries(s.counters).map(([k, v]) => `${k} ${/bytes/i.test(k) ? formatBytes(v) : v}`).join(' · ');
        return (
          <Text key={s.name} wrap="truncate-end">
            <Text color={theme.tone(st)}>{`  ${theme.symbol[st]} ${fit(s.name, 10)}${fit(s.status, 10)}`}</Text>
            {`${fit(formatDuration(s.durationMs), 8)}${s.error ? `${s.error.code}: ${s.error.message}` : counters}`}
          </Text>
        );
      })}
      {run.hookOutput && run.hookOutput.length > 0 && <Field label="hooks" value={run.hookOutput.slice(-2).join(' | ')} />}
      <Text color={theme.tone('muted')}>Esc: back to the list</Text>
    </Box>
  );
}

function DrillDetail({ drill, now }: { drill: DrillRecord; now: Date }) {
  const tone = statusTone(drill.verdict);
  return (
    <Box flexDirection="column">
      <Text bold>{`drill ${drill.runbook} · ${drill.id}`}</Text>
      <Field label="verdict" value={`${theme.symbol[tone]} ${drill.verdict}${drill.reason ? ` — ${drill.reason}` : ''}`} tone={tone} />
      <Field label="RTO" value={`${formatDuration(drill.rtoMs)} against a ${formatDuration(drill.targetMs)} target${drill.estimated ? ' (estimated, not measured)' : ''}`} tone={tone} />
      <Field label="started" value={`${formatTime(drill.startedAt)} (${relative(drill.startedAt, now)}) by ${drill.actor.face}:${drill.actor.user}`} />
      <Field label="snapshot" value={`${drill.snapshotId ? shortRunId(drill.snapshotId) : '—'} · ${drill.tier} tier`} />
      {drill.path !== undefined && <Field label="path" value={`${displayPath(drill.path)} (a path drill: its RTO is that path's, not the runbook's)`} />}
      <Text color={theme.tone('muted')}>RTO phases</Text>
      {drill.phases.map((p) => (
        <Text key={p.name}>{`  ${fit(p.name, 9)}${fit(formatDuration(p.durationMs), 9, 'right')}${p.bytes !== undefined ? `  ${fit(formatBytes(p.bytes), 10, 'right')}  ${formatRate(p.throughput)}` : ''}`}</Text>
      ))}
      <Text color={theme.tone('muted')}>Esc: back to the list</Text>
    </Box>
  );
}
