/**
 * The PagerDuty sink (Events API v2): one event per delivery, the alert key
 * as `dedup_key`, so PagerDuty keeps one incident per Lifeboat alert.
 *
 * - raised, escalated, repeated → `trigger` (again, same dedup_key: PagerDuty
 *   updates the open incident, and re-opens nothing that was resolved);
 * - acknowledged → `acknowledge`; resolved → `resolve`.
 *
 * PagerDuty answers 202 when it took the event, 400 for an invalid one
 * (permanent), 429 and 5xx when to come back later (transient).
 */
import type { AlertRecord } from '../../store/records.js';
import type { Sink, SinkMessage } from '../sink.js';
import { summaryLine } from './alert-text.js';
import { sinkRequest } from './http.js';

export interface PagerDutySinkOptions {
  name: string;
  routingKey: string;
  /** Events API endpoint, default https://events.pagerduty.com/v2/enqueue. */
  url: string;
  /** `source` of the event: this host. */
  host: string;
  timeoutMs?: number;
}

export function pagerDutyAction(transition: SinkMessage['transition']): 'trigger' | 'acknowledge' | 'resolve' {
  if (transition === 'resolved') return 'resolve';
  if (transition === 'acknowledged') return 'acknowledge';
  return 'trigger';
}

export function pagerDutyEvent(message: SinkMessage, routingKey: string, host: string) {
  const { alert } = message;
  const action = pagerDutyAction(message.transition);
  const base = { routing_key: routingKey, event_action: action, dedup_key: alert.key };
  // Acknowledge and resolve need only the key; a payload there would be ignored.
  if (action !== 'trigger') return base;
  return {
    ...base,
    payload: {
      summary: summaryLine(message, 1024),
      source: host,
      severity: alert.severity satisfies AlertRecord['severity'],
      component: alert.runbook,
      class: alert.rule,
      timestamp: message.at,
      custom_details: {
        message: alert.message,
        transition: message.transition,
        firstSeen: alert.firstSeen,
        lastSeen: alert.lastSeen,
        count: alert.count,
        idempotencyKey: message.idempotencyKey,
      },
    },
  };
}

export function pagerDutySink(options: PagerDutySinkOptions): Sink {
  return {
    name: options.name,
    type: 'pagerduty',
    async send(message, signal) {
      await sinkRequest({
        sink: `pagerduty sink "${options.name}"`,
        url: options.url,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(pagerDutyEvent(message, options.routingKey, options.host)),
        signal,
        secrets: [options.routingKey],
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      });
    },
  };
}
