/**
 * The generic webhook sink: one JSON POST per delivery.
 *
 *   { idempotencyKey, transition, alert: { key, runbook, rule, severity,
 *     message, firstSeen, lastSeen, count, status, ackedBy }, at,
 *     lifeboat: { version, host } }
 *
 * Headers: `Idempotency-Key` (the same on a retry: the receiver drops
 * repeats); with a `secret`, `X-Lifeboat-Timestamp` (Unix seconds) and
 * `X-Lifeboat-Signature: sha256=<hex HMAC-SHA-256 of "<timestamp>.<body>">`.
 * Signing the timestamp with the body lets a receiver refuse an old request
 * replayed by someone who saw it (README, Notifications, says how to verify).
 */
import { createHmac } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { Sink } from '../sink.js';
import { sinkRequest } from './http.js';

export interface WebhookSinkOptions {
  name: string;
  url: string;
  /** The HMAC key, already resolved. */
  secret?: string;
  /** Who sends: Lifeboat's version and this host's name. */
  lifeboat: { version: string; host: string };
  clock: Pick<Clock, 'now'>;
  timeoutMs?: number;
}

/** `sha256=<hex>` over `<timestamp>.<body>`: what a receiver recomputes. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export function webhookSink(options: WebhookSinkOptions): Sink {
  return {
    name: options.name,
    type: 'webhook',
    async send(message, signal) {
      const { alert } = message;
      const body = JSON.stringify({
        idempotencyKey: message.idempotencyKey,
        transition: message.transition,
        alert: {
          key: alert.key,
          runbook: alert.runbook,
          rule: alert.rule,
          severity: alert.severity,
          message: alert.message,
          firstSeen: alert.firstSeen,
          lastSeen: alert.lastSeen,
          count: alert.count,
          status: alert.status,
          ackedBy: alert.ackedBy ?? null,
        },
        at: message.at,
        lifeboat: options.lifeboat,
      });
      const headers: Record<string, string> = { 'Content-Type': 'application/json', 'Idempotency-Key': message.idempotencyKey };
      if (options.secret !== undefined) {
        // Stamped when sent, not when raised: a retry hours later must not look like a replay.
        const timestamp = String(Math.floor(options.clock.now().getTime() / 1000));
        headers['X-Lifeboat-Timestamp'] = timestamp;
        headers['X-Lifeboat-Signature'] = webhookSignature(options.secret, timestamp, body);
      }
      await sinkRequest({
        sink: `webhook sink "${options.name}"`,
        url: options.url,
        headers,
        body,
        signal,
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.secret !== undefined ? { secrets: [options.secret] } : {}),
      });
    },
  };
}
