/** A delivery as the outbox hands it to a sink, for the sink tests. */
import type { AlertRecord, AlertTransition, SinkMessage } from '../../../../src/core/index.js';

export function alertMessage(transition: AlertTransition = 'raised', alert: Partial<AlertRecord> = {}): SinkMessage {
  return {
    transition,
    idempotencyKey: `01JDELIVERY${transition.toUpperCase()}`,
    at: '2026-12-06T03:00:00.000Z',
    alert: {
      key: 'backup-failed:app-data',
      runbook: 'app-data',
      rule: 'backup-failed',
      severity: 'critical',
      message: 'backup of app-data failed: source uploads: ENOENT /srv/uploads',
      firstSeen: '2026-12-06T02:00:00.000Z',
      lastSeen: '2026-12-06T03:00:00.000Z',
      count: 2,
      status: transition === 'resolved' ? 'resolved' : 'open',
      ...alert,
    },
  };
}

export const never = new AbortController().signal;
