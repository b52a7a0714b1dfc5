/**
 * A run as it goes, folded from the engine's event stream by a pure reducer,
 * and rendered as one message that is updated in place: a line per stage with
 * its status and progress, then the result with its numbers. A failure names
 * the stage and its error.
 */
import { type DrillRecord, type EngineEvent, ExitCode, formatBytes, formatDuration, formatRate, type ProgressCounters, type RunStatus, type StageName, type StageStatus } from '../../core/index.js';
import type { CommandResult } from '../../../commands/command.js';
import { drillResultBlocks } from './drill.js';
import { codeBlock, context, escape, section, type Block, type Message } from './types.js';

export interface StageView {
  name: StageName;
  status: StageStatus;
  progress?: ProgressCounters;
  counters?: Record<string, number>;
  error?: { code: string; message: string };
}

export interface RunView {
  /** The request as typed, e.g. `/backup demo`. */
  request: string;
  /** Slack user id of who asked. */
  user: string;
  runbook: string;
  kind?: string;
  runId?: string;
  status: RunStatus | 'starting';
  stages: StageView[];
  /** Last few hook output lines. */
  hookOutput: string[];
  retries: number;
  drill?: DrillRecord;
  result?: CommandResult;
}

export function initialRunView(request: string, user: string, runbook: string): RunView {
  return { request, user, runbook, status: 'starting', stages: [], hookOutput: [], retries: 0 };
}

const HOOK_LINES = 5;

function withStage(view: RunView, name: StageName, change: (s: StageView) => StageView): RunView {
  const found = view.stages.some((s) => s.name === name);
  const stages = found ? view.stages.map((s) => (s.name === name ? change(s) : s)) : [...view.stages, change({ name, status: 'running' })];
  return { ...view, stages };
}

/** Pure: the view after one event. Events of other runs are ignored. */
export function applyRunEvent(view: RunView, event: EngineEvent): RunView {
  if ('runId' in event && event.runId !== undefined && view.runId !== undefined && event.runId !== view.runId) return view;
  switch (event.type) {
    case 'run.started':
      return { ...view, runId: event.runId, kind: event.kind, status: 'running' };
    case 'stage.started':
      return withStage(view, event.stage, (s) => ({ ...s, status: 'running' }));
    case 'stage.progress':
      return withStage(view, event.stage, (s) => ({ ...s, progress: event.progress }));
    case 'stage.finished':
      return withStage(view, event.stage, (s) => ({ ...s, status: event.status, counters: event.counters, ...(event.error ? { error: event.error } : {}) }));
    case 'run.finished':
      return { ...view, status: event.status };
    case 'hook.output':
      return { ...view, hookOutput: [...view.hookOutput, `${event.hook}: ${event.line}`].slice(-HOOK_LINES) };
    case 'retry':
      return { ...view, retries: view.retries + 1 };
    case 'drill.measured':
      return { ...view, drill: event.drill };
    default:
      return view;
  }
}

/** The command's result has come back: the message turns into the result. */
export function finishRunView(view: RunView, result: CommandResult): RunView {
  return { ...view, result };
}

const STAGE_ICON: Record<StageStatus, string> = {
  pending: ':white_circle:',
  running: ':arrows_counterclockwise:',
  succeeded: ':white_check_mark:',
  failed: ':x:',
  skipped: ':fast_forward:',
  partial: ':large_orange_diamond:',
};

function progressText(p: ProgressCounters): string {
  const parts: string[] = [];
  if (p.totalBytes) parts.push(`${Math.min(100, Math.floor((p.bytes / p.totalBytes) * 100))}%`);
  parts.push(`${p.files}${p.totalFiles ? `/${p.totalFiles}` : ''} files`);
  parts.push(`${formatBytes(p.bytes)}${p.totalBytes ? ` of ${formatBytes(p.totalBytes)}` : ''}`);
  if (p.rate) parts.push(formatRate(Math.round(p.rate)));
  if (p.etaSeconds !== undefined) parts.push(`ETA ${formatDuration(p.etaSeconds * 1000)}`);
  return parts.join(' · ');
}

function stageLine(s: StageView, withError: boolean): string {
  let line = `${STAGE_ICON[s.status]} *${s.name}*`;
  if (s.status === 'running' && s.progress) line += ` — ${progressText(s.progress)}`;
  if (s.error && withError) line += ` — \`${s.error.code}\` ${escape(s.error.message)}`;
  return line;
}

function failedStage(view: RunView): StageView | undefined {
  return view.stages.find((s) => s.status === 'failed');
}

export function runMessage(view: RunView): Message {
  const who = `<@${view.user}>`;
  const blocks: Block[] = [];
  const res = view.result;
  if (!res) {
    blocks.push(section(`:hourglass_flowing_sand: *${escape(view.request)}* — ${view.status === 'starting' ? 'starting' : 'running'}, asked by ${who}`));
  } else {
    const ok = res.exitCode === ExitCode.ok;
    const icon = ok ? ':white_check_mark:' : res.exitCode === ExitCode.partial ? ':large_orange_diamond:' : ':x:';
    blocks.push(section(`${icon} *${escape(view.request)}* — ${escape(res.summary ?? '')}`));
  }
  if (view.drill && res) {
    blocks.push(...drillResultBlocks(view.drill));
  }
  const failed = failedStage(view);
  const explained = res !== undefined && res.exitCode !== ExitCode.ok && failed?.error !== undefined;
  if (!(view.drill && res) && view.stages.length > 0) {
    // Once the result names the failed stage and its error, the stage list shows only where it stopped.
    blocks.push(section(view.stages.map((s) => stageLine(s, !explained)).join('\n')));
  }
  if (explained && failed?.error) {
    blocks.push(section(`Failed in stage *${failed.name}*: \`${failed.error.code}\` ${escape(failed.error.message)}`));
  }
  if (res?.lines && res.lines.length > 0 && !view.drill) blocks.push(section(codeBlock(res.lines)));
  if (view.hookOutput.length > 0 && !res) blocks.push(section(codeBlock(view.hookOutput)));
  const facts = [`asked by ${who}`];
  if (view.runId) facts.push(`run \`${view.runId}\``);
  if (view.retries > 0) facts.push(`${view.retries} retr${view.retries === 1 ? 'y' : 'ies'}`);
  blocks.push(context(facts.join(' · ')));
  const text = res ? `${view.request}: ${res.summary ?? ''}` : `${view.request}: ${view.status === 'starting' ? 'starting' : 'running'}`;
  return { text, blocks };
}
