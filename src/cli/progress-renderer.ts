/**
 * Headless rendering of engine events on stderr: a single rewritten status
 * line on a terminal, plain lines (stage boundaries only) on a pipe or in CI.
 * An error is written in full once (`said`, see said-once.ts); a later stage
 * failing of the same cause, or an alert quoting it, points back at it.
 */
import { alertRaisedLine, alertResolvedLine } from '../../commands/support/alert-lines.js';
import { formatBytes, formatDuration, formatRate, type EngineEvent, type EventSink } from '../core/index.js';
import { SaidOnce } from './said-once.js';

export interface ProgressRenderer {
  sink: EventSink;
  /** Clears the live status line. */
  done: () => void;
  /** What was written in full, for the result's lines to refer to. */
  said: SaidOnce;
  /** Writes the alert lines held back by `deferAlerts` (after the command's result). */
  flushAlerts: () => void;
}

export interface ProgressOptions {
  /**
   * Hold alert lines until flushAlerts. A command raises its alerts as it ends,
   * just before its result is printed; held back, they come after the result and
   * point at its error instead of quoting it ahead of it. serve writes them live.
   */
  deferAlerts?: boolean;
}

export function progressRenderer(stream: NodeJS.WriteStream, quiet: boolean, options: ProgressOptions = {}): ProgressRenderer {
  const tty = stream.isTTY === true;
  let live = false;
  const clearLive = () => {
    if (live) stream.write('\r\x1b[2K');
    live = false;
  };
  const said = new SaidOnce();
  const held: string[] = [];
  const alertLine = (line: string) => {
    if (options.deferAlerts) return void held.push(line);
    clearLive();
    stream.write(`${said.refer(line)}\n`);
  };
  const sink = (e: EngineEvent) => {
    if (quiet && e.type !== 'alert.raised') return;
    switch (e.type) {
      case 'stage.progress': {
        if (!tty) return;
        const p = e.progress;
        const total = p.totalBytes !== undefined ? ` of ${formatBytes(p.totalBytes)}` : '';
        const eta = p.etaSeconds !== undefined ? `, ETA ${formatDuration(p.etaSeconds * 1000)}` : '';
        const text = `${e.stage}: ${p.files}${p.totalFiles !== undefined ? `/${p.totalFiles}` : ''} files, ${formatBytes(p.bytes)}${total}, ${formatRate(p.rate)}${eta}`;
        stream.write(`\r\x1b[2K${text.slice(0, (stream.columns ?? 100) - 1)}`);
        live = true;
        return;
      }
      case 'stage.finished': {
        clearLive();
        if (e.status !== 'failed') return;
        const line = said.referOrDrop(`${e.stage} failed: ${e.error?.message ?? 'unknown error'}`);
        if (line !== undefined) stream.write(`${line}\n`);
        said.note(e.error?.message);
        return;
      }
      case 'hook.output':
        clearLive();
        stream.write(`[${e.hook}] ${e.line}\n`);
        return;
      case 'retry':
        clearLive();
        stream.write(`retrying ${e.operation} (attempt ${e.attempt}) in ${formatDuration(e.delayMs)}: ${e.error}\n`);
        return;
      case 'alert.raised':
        alertLine(alertRaisedLine(e.alert));
        return;
      case 'alert.resolved':
        alertLine(alertResolvedLine(e.alert));
        return;
      case 'log':
        if (e.level === 'debug') return;
        clearLive();
        stream.write(`${e.level}: ${e.message}\n`);
        return;
      default:
        return;
    }
  };
  const flushAlerts = () => {
    clearLive();
    for (const line of held.splice(0)) stream.write(`${said.refer(line)}\n`);
  };
  return { sink, done: clearLive, said, flushAlerts };
}
