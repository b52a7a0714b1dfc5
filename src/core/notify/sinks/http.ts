/**
 * One HTTP request for a sink (webhook, ntfy, PagerDuty) with a timeout, and
 * what its failure means for the outbox: SinkError, permanent or not.
 *
 * - transient (retried with backoff): no connection, no answer in time, 408,
 *   429 (its Retry-After passed on), 5xx;
 * - permanent (the delivery is marked failed): any other 4xx, or a 3xx (a
 *   POST is not followed to a place the operator did not configure).
 *
 * Messages name the sink and the URL's host, never the path or query (where
 * tokens live) nor a secret; an answer's body is quoted short, with every
 * secret the sink knows taken out, because it is what tells an operator why.
 */
import { SinkError } from '../sink.js';

export const DEFAULT_HTTP_TIMEOUT_MS = 10_000;

export interface SinkRequest {
  /** The sink as messages name it: `webhook sink "hooks"`. */
  sink: string;
  url: string;
  method?: 'POST' | 'GET';
  headers?: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  timeoutMs?: number;
  /** Values that must not appear in an error message (tokens, keys): removed from quoted bodies. */
  secrets?: readonly string[];
}

export interface SinkResponse {
  status: number;
  body: string;
}

/** The host a message may name (`events.pagerduty.com`, `127.0.0.1:8080`). */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an invalid URL';
  }
}

function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join('[redacted]');
  const line = out.replace(/\s+/g, ' ').trim();
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

/** Retry-After in seconds or as an HTTP date, as milliseconds; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const causeCode = (e: unknown): string | undefined => {
  const cause = (e as { cause?: { code?: unknown } }).cause;
  return typeof cause?.code === 'string' ? cause.code : undefined;
};

/** Sends the request; resolves on 2xx, else throws SinkError (see the file comment for which are permanent). */
export async function sinkRequest(request: SinkRequest): Promise<SinkResponse> {
  const where = `${request.sink} (${hostOf(request.url)})`;
  const timeoutMs = request.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: request.method ?? 'POST',
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.any([request.signal, timeout]),
    });
  } catch (e) {
    if (request.signal.aborted) throw new SinkError(`${where}: cancelled`, { cause: e });
    if (timeout.aborted) throw new SinkError(`${where}: no answer within ${timeoutMs / 1000} s`, { cause: e });
    throw new SinkError(`${where}: cannot connect (${causeCode(e) ?? (e as Error).message})`, { cause: e });
  }
  let body: string;
  try {
    body = await response.text();
  } catch (e) {
    throw new SinkError(`${where}: answered HTTP ${response.status}, then broke off`, { cause: e });
  }
  const { status } = response;
  if (status >= 200 && status < 300) return { status, body };
  const said = scrub(body, request.secrets ?? []);
  const message = `${where}: answered HTTP ${status}${said === '' ? '' : `: ${said}`}`;
  if (status === 429) {
    const after = retryAfterMs(response.headers.get('retry-after'));
    throw new SinkError(message, after === undefined ? {} : { retryAfterMs: after });
  }
  if (status === 408 || status >= 500) throw new SinkError(message);
  throw new SinkError(message, { permanent: true });
}
