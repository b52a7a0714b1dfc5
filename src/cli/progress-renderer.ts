/**
 * Headless rendering of engine events on stderr: a single rewritten status
 * line on a terminal, plain lines (stage boundaries only) on a pipe or in CI.
 */
import { formatBytes, formatDuration, formatRate, type EngineEvent, type EventSink } from '../core/index.js';

export function progressRenderer(stream: NodeJS.WriteStream, quiet: boolean): { sink: EventSink; done: () => void } {
  const tty = stream.isTTY === true;
  let live = false;
  const clearLive = () => {
    if (live) stream.write('\r\x1b[2K');
    live = false;
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
      case 'stage.finished':
        clearLive();
        if (e.status === 'failed') stream.write(`${e.stage} failed: ${e.error?.message ?? 'unknown error'}\n`);
        return;
      case 'hook.output':
        clearLive();
        stream.write(`[${e.hook}] ${e.line}\n`);
        return;
      case 'retry':
        clearLive();
        stream.write(`retrying ${e.operation} (attempt ${e.attempt}) in ${formatDuration(e.delayMs)}: ${e.error}\n`);
        return;
      case 'alert.raised':
        clearLive();
        stream.write(`ALERT [${e.alert.severity}] ${e.alert.runbook}: ${e.alert.message}\n`);
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
  return { sink, done: clearLive };
}
