/**
 * The Slack sink: an alert as today's message with its Acknowledge button
 * (./slack-alert-message.ts), posted with the bot token to a channel through
 * Slack's Web API. It needs no Bolt app and no connection: any process that
 * has the token can deliver, so alerts raised by the CLI or while serve's
 * Slack connection is down reach Slack through the outbox.
 *
 * What each transition does:
 * - raised, escalated, repeated: chat.postMessage, a new message. A new
 *   message is what notifies people (an edit notifies nobody), and a repeat
 *   or a severity rise is meant to page again. The new message's
 *   `{ channel, ts }` is the receipt, so later updates go to the newest one.
 * - acknowledged, resolved: chat.update of the message in `previous`, in
 *   place (the button goes, who acknowledged / when it resolved shows). A
 *   resolution with no message to update (its post failed for good, or the
 *   message was deleted) is posted as a new message; an acknowledgement with
 *   none is not: it would tell the channel nothing it must act on.
 *
 * Errors: Slack's `ok:false` codes that no retry can fix (a wrong token, a
 * channel the bot is not in or that does not exist, …) are permanent; rate
 * limits (HTTP 429, Retry-After passed on), 5xx, timeouts and network errors
 * are transient. An unknown code is transient too: an alert retried until
 * someone looks beats an alert dropped. Messages name the sink, the method
 * and the API host, never the token.
 */
import { systemClock, type Clock } from '../../clock.js';
import type { Redactor } from '../../redaction/redactor.js';
import type { DeliveryReceipt } from '../../store/records.js';
import { SinkError, type Sink, type SinkMessage } from '../sink.js';
import { retryAfterMs as retryAfterHeaderMs } from './http.js';
import { alertMessage } from './slack-alert-message.js';
import type { Message } from './slack-block-kit.js';
import { publicMessage } from './slack-public.js';

export const SLACK_API_URL = 'https://slack.com/api/';

/** Long enough for a slow Slack, short enough that a stuck request does not hold a delivery lease. */
const DEFAULT_TIMEOUT_MS = 10_000;

export interface SlackSinkOptions {
  /** The sink's name in lifeboat.yaml (`slack` for the implicit one of `alerts.slack`). */
  name: string;
  /** The bot token (xoxb-…), already resolved from its reference. */
  token: string;
  /** The channel every alert goes to (a `#name` or an id)… */
  channel?: string;
  /** …or the channel of the alert's runbook (the implicit sink: each runbook's `alerts.slack`). */
  channelOf?: (runbook: string) => string | undefined;
  /** Web API base URL ending in `/` (SLACK_API_URL: GovSlack, a test stand-in). Default https://slack.com/api/. */
  apiUrl?: string;
  /** Per request. Default 10 s. */
  timeoutMs?: number;
  /** For "first seen 3h ago" in the message: the time it is sent, not the time it was raised. */
  clock?: Pick<Clock, 'now'>;
  /** Known secrets to redact from what is posted (alerts are stored redacted already; this is the last net). */
  secrets?: Redactor;
}

/** `ok:false` codes no retry can fix, with what the operator should do. */
const PERMANENT: Record<string, string> = {
  invalid_auth: 'the bot token is not valid',
  not_authed: 'no bot token was sent',
  account_inactive: 'the bot token belongs to a deleted user or a disabled app',
  token_revoked: 'the bot token was revoked',
  token_expired: 'the bot token expired',
  not_in_channel: 'invite the bot to the channel (/invite @lifeboat)',
  channel_not_found: 'no such channel, or the bot cannot see it',
  is_archived: 'the channel is archived',
  missing_scope: 'the app lacks the chat:write scope',
  no_permission: 'the app may not post there',
  restricted_action: 'the workspace does not allow this app to post there',
  invalid_blocks: 'Slack refused the message blocks',
  msg_too_long: 'the message is too long',
  invalid_arguments: 'Slack refused the request',
};

/** chat.update codes that mean "no such message to update any more". */
const MESSAGE_GONE = new Set(['message_not_found', 'cant_update_message', 'edit_window_closed']);

export function slackSink(options: SlackSinkOptions): Sink {
  const apiUrl = options.apiUrl ?? SLACK_API_URL;
  const base = apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`;
  const host = hostOf(base);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const clock = options.clock ?? systemClock;
  const where = `slack sink "${options.name}" (${host})`;

  const call = async (method: string, body: Record<string, unknown>, signal: AbortSignal): Promise<Record<string, unknown>> => {
    let res: Response;
    try {
      res = await fetch(`${base}${method}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify(body),
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      });
    } catch (e) {
      const reason = signal.aborted ? 'cancelled' : (e as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : networkReason(e);
      throw new SinkError(`${where}: ${method} failed: ${reason}`, { cause: e });
    }
    const text = await res.text().catch(() => '');
    if (res.status === 429) {
      const retryAfterMs = retryAfterHeaderMs(res.headers.get('retry-after'), clock.now().getTime());
      throw new SinkError(`${where}: ${method} rate limited (HTTP 429${retryAfterMs !== undefined ? `, retry after ${retryAfterMs / 1000} s` : ''})`, retryAfterMs !== undefined ? { retryAfterMs } : {});
    }
    if (res.status >= 500 || res.status === 408) throw new SinkError(`${where}: ${method} answered HTTP ${res.status}`);
    if (!res.ok) throw new SinkError(`${where}: ${method} refused with HTTP ${res.status}`, { permanent: true });
    let answer: Record<string, unknown>;
    try {
      answer = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new SinkError(`${where}: ${method} answered HTTP ${res.status} with a body that is not JSON`);
    }
    if (answer.ok !== true) throw new SlackApiError(method, typeof answer.error === 'string' ? answer.error : 'unknown_error');
    return answer;
  };

  /** A Slack `ok:false` as the outbox's SinkError, permanent or not. */
  const sinkError = (e: SlackApiError, channel: string): SinkError => {
    const hint = PERMANENT[e.code];
    const what = `${where}: ${e.method} to ${channel} refused: ${e.code}`;
    if (hint) return new SinkError(`${what} (${hint})`, { permanent: true, cause: e });
    if (e.code === 'ratelimited' || e.code === 'rate_limited') return new SinkError(`${what} (rate limited)`, { cause: e });
    return new SinkError(what, { cause: e });
  };

  const render = (message: SinkMessage): Message => publicMessage(alertMessage(message.alert, clock.now(), message.transition), options.secrets);

  const post = async (channel: string, message: SinkMessage, signal: AbortSignal): Promise<DeliveryReceipt> => {
    const shown = render(message);
    try {
      const answer = await call('chat.postMessage', { channel, text: shown.text, blocks: shown.blocks }, signal);
      if (typeof answer.channel !== 'string' || typeof answer.ts !== 'string') {
        throw new SinkError(`${where}: chat.postMessage to ${channel} answered without channel and ts`);
      }
      return { channel: answer.channel, ts: answer.ts };
    } catch (e) {
      throw e instanceof SlackApiError ? sinkError(e, channel) : e;
    }
  };

  /** Updates the message in place; false when it is gone (deleted, too old to edit). */
  const update = async (previous: { channel: string; ts: string }, message: SinkMessage, signal: AbortSignal): Promise<boolean> => {
    const shown = render(message);
    try {
      await call('chat.update', { channel: previous.channel, ts: previous.ts, text: shown.text, blocks: shown.blocks }, signal);
      return true;
    } catch (e) {
      if (e instanceof SlackApiError && MESSAGE_GONE.has(e.code)) return false;
      throw e instanceof SlackApiError ? sinkError(e, previous.channel) : e;
    }
  };

  const channelFor = (message: SinkMessage): string => {
    const channel = options.channel ?? options.channelOf?.(message.alert.runbook);
    if (!channel) throw new SinkError(`${where}: no Slack channel for runbook ${message.alert.runbook} (set its alerts.slack, or a channel on the sink)`, { permanent: true });
    return channel;
  };

  return {
    name: options.name,
    type: 'slack',
    async send(message, signal) {
      const { transition, previous } = message;
      if (transition === 'acknowledged' || transition === 'resolved') {
        const known = previous?.channel && previous.ts ? { channel: previous.channel, ts: previous.ts } : undefined;
        if (known && (await update(known, message, signal))) return known;
        if (transition === 'acknowledged') return undefined;
      }
      return post(channelFor(message), message, signal);
    },
  };
}

/** Slack's own refusal (`ok:false`), before it is classified for the outbox. */
class SlackApiError extends Error {
  constructor(
    readonly method: string,
    readonly code: string,
  ) {
    super(`${method}: ${code}`);
    this.name = 'SlackApiError';
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** `connection refused` rather than fetch's bare "fetch failed": the cause says what happened. */
function networkReason(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}${cause.message && !cause.message.includes(cause.code) ? ` ${cause.message}` : ''}`;
  return cause?.message ?? (e as Error).message ?? String(e);
}
