/**
 * A drill's result: verdict, RTO against the target, and each phase with its
 * time and throughput. A path drill also names its path and the size restored
 * (never what the files hold), and says its RTO is the path's.
 */
import { type DrillRecord, formatBytes, formatDuration, formatRate, formatTime } from '../../core/index.js';
import { codeBlock, context, escape, section, type Block, type Message } from './types.js';

const VERDICT: Record<DrillRecord['verdict'], string> = {
  met: ':white_check_mark: RTO met',
  missed: ':warning: RTO missed',
  failed: ':x: drill failed',
  blocked: ':no_entry: drill blocked (repository unreachable)',
  running: ':hourglass_flowing_sand: running',
};

export function drillPhaseLines(drill: DrillRecord): string[] {
  const slowest = drill.phases.filter((p) => p.name !== 'cleanup').reduce<DrillRecord['phases'][number] | undefined>((a, b) => (!a || b.durationMs > a.durationMs ? b : a), undefined);
  return drill.phases.map((p) => {
    const bytes = p.bytes !== undefined ? `  ${formatBytes(p.bytes).padStart(10)}  ${formatRate(p.throughput)}` : '';
    const mark = p === slowest && drill.phases.length > 1 ? '  ← slowest' : '';
    return `${p.name.padEnd(9)} ${formatDuration(p.durationMs).padStart(8)}${bytes}${mark}`;
  });
}

/** The bytes a drill wrote (its write phase), when it got that far. */
function restoredBytes(drill: DrillRecord): number | undefined {
  return drill.phases.find((p) => p.name === 'write')?.bytes;
}

/** Monospace where the text allows it: a name holding a backtick would end the span early. */
function code(text: string): string {
  return text.includes('`') ? escape(text) : `\`${escape(text)}\``;
}

export function drillResultBlocks(drill: DrillRecord): Block[] {
  const rto = drill.rtoMs !== undefined ? formatDuration(drill.rtoMs) : '—';
  const bytes = restoredBytes(drill);
  const pathFields = drill.path === undefined ? [] : [`*Path*\n${code(drill.path)}${bytes !== undefined && drill.verdict !== 'failed' ? ` (${formatBytes(bytes)})` : ''}`];
  const blocks: Block[] = [
    section(`${VERDICT[drill.verdict]} — *RTO ${rto}*${drill.path !== undefined ? ' for one path' : ''} (target ${formatDuration(drill.targetMs)})${drill.estimated ? ' _estimated_' : ''}`, [
      `*Runbook*\n${escape(drill.runbook)}`,
      ...pathFields,
      `*Snapshot*\n\`${escape(drill.snapshotId.slice(0, 8) || '—')}\``,
      `*Tier*\n${drill.tier}`,
      `*Started*\n${formatTime(drill.startedAt)}`,
    ]),
  ];
  if (drill.phases.length > 0) blocks.push(section(codeBlock(drillPhaseLines(drill))));
  if (drill.reason) blocks.push(context(escape(drill.reason)));
  if (drill.path !== undefined) blocks.push(context('A path drill: every restored file hashed against the snapshot; `drill.check` not run. Its RTO is this path’s, not the runbook’s.'));
  return blocks;
}

export function drillResultMessage(drill: DrillRecord): Message {
  const rto = drill.rtoMs !== undefined ? formatDuration(drill.rtoMs) : '—';
  const path = drill.path !== undefined ? ` path ${drill.path}` : '';
  return { text: `drill ${drill.verdict}: ${drill.runbook}${path} RTO ${rto} (target ${formatDuration(drill.targetMs)})`, blocks: drillResultBlocks(drill) };
}

/** Posted `drill.announce` before a scheduled drill; its result goes into this message's thread. */
export function drillAnnouncementMessage(runbook: { name: string; objectives: { rtoMs: number } }, startsAt: Date, now: Date): Message {
  const inMs = Math.max(0, startsAt.getTime() - now.getTime());
  const when = formatTime(startsAt.toISOString());
  return {
    text: `Restore drill for ${runbook.name} starts in ${formatDuration(inMs)} (${when})`,
    blocks: [
      section(`:rotating_light: *Restore drill for ${escape(runbook.name)}* starts in ${formatDuration(inMs)} — <!date^${Math.floor(startsAt.getTime() / 1000)}^{date_short_pretty} {time}|${when}>`),
      context(`RTO target ${formatDuration(runbook.objectives.rtoMs)} · the result will be posted in this thread`),
    ],
  };
}
