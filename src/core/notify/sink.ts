/**
 * The Sink port: one place people are told about alerts (Slack, a webhook,
 * ntfy, PagerDuty, email). Each kind is one small file in ./sinks/ that turns
 * a delivery into one request. Sinks never see the store: the outbox
 * (./outbox.ts) claims a delivery, calls `send`, and records what happened.
 *
 * Contract:
 * - `send` delivers one transition of one alert, or throws a SinkError.
 * - It is called at least once per delivery and may be called again for the
 *   same one (a process died after sending, before recording): pass
 *   `idempotencyKey` on wherever the other side can use it.
 * - `previous` is the receipt of this alert's last delivery to this sink, if
 *   any (e.g. the Slack message a resolution updates in place).
 * - Secrets (tokens, passwords, HMAC keys) are resolved when the sink is built
 *   and never appear in an error message.
 */
import type { AlertRecord, AlertTransition, DeliveryReceipt } from '../store/records.js';

export interface SinkMessage {
  transition: AlertTransition;
  alert: AlertRecord;
  idempotencyKey: string;
  previous?: DeliveryReceipt;
  /** When the transition happened (ISO). */
  at: string;
}

export interface Sink {
  readonly name: string;
  /** The kind, as in lifeboat.yaml: slack, webhook, ntfy, pagerduty, email. */
  readonly type: string;
  send(message: SinkMessage, signal: AbortSignal): Promise<DeliveryReceipt | void>;
}

/**
 * A delivery that did not arrive. `permanent`: trying again cannot help (a
 * rejected request, a wrong address) and the delivery is marked failed;
 * otherwise (unreachable, 5xx, 429, SMTP 4xx) it is retried with backoff.
 */
export class SinkError extends Error {
  readonly permanent: boolean;
  /** The other side said when to try again (HTTP 429 Retry-After): the next attempt waits at least this long. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: { permanent?: boolean; retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'SinkError';
    this.permanent = options.permanent ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }
}
