/**
 * The ntfy sink: a POST to `<url>/<topic>` whose body is the message, with
 * ntfy's headers: Title, Priority (critical 5, warning 4, info 3; a
 * resolution or acknowledgement 2, so it does not ring like a page), Tags
 * (emoji shortcodes ntfy shows, plus the runbook and rule), and a Bearer
 * token when the topic is protected.
 */
import type { AlertRecord } from '../../store/records.js';
import type { Sink, SinkMessage } from '../sink.js';
import { detailLines, summaryLine } from './alert-text.js';
import { sinkRequest } from './http.js';

export interface NtfySinkOptions {
  name: string;
  /** The server, e.g. https://ntfy.sh. */
  url: string;
  topic: string;
  /** Access token, already resolved. */
  token?: string;
  timeoutMs?: number;
}

const SEVERITY_PRIORITY: Record<AlertRecord['severity'], number> = { critical: 5, warning: 4, info: 3 };

export function ntfyPriority(message: Pick<SinkMessage, 'transition' | 'alert'>): number {
  return message.transition === 'resolved' || message.transition === 'acknowledged' ? 2 : SEVERITY_PRIORITY[message.alert.severity];
}

function tags(message: SinkMessage): string {
  const mark =
    message.transition === 'resolved' ? 'white_check_mark' : message.transition === 'acknowledged' ? 'eyes' : message.alert.severity === 'critical' ? 'rotating_light' : 'warning';
  return [mark, message.alert.runbook, message.alert.rule].join(',');
}

/** Header values must be Latin-1: anything else becomes "?" rather than a refused request. */
const latin1 = (text: string) => text.replace(/[^\x20-\x7e\xa0-\xff]/g, '?');

export function ntfySink(options: NtfySinkOptions): Sink {
  const target = `${options.url.replace(/\/+$/, '')}/${encodeURIComponent(options.topic)}`;
  return {
    name: options.name,
    type: 'ntfy',
    async send(message, signal) {
      const headers: Record<string, string> = {
        'Content-Type': 'text/plain; charset=utf-8',
        Title: latin1(summaryLine(message, 120)),
        Priority: String(ntfyPriority(message)),
        Tags: latin1(tags(message)),
      };
      if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
      await sinkRequest({
        sink: `ntfy sink "${options.name}"`,
        url: target,
        headers,
        body: detailLines(message).join('\n'),
        signal,
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.token !== undefined ? { secrets: [options.token] } : {}),
      });
    },
  };
}
