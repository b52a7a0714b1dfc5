/**
 * An alert with its Acknowledge button; acknowledged or resolved alerts lose
 * the button and say by whom / when. Used by the Slack sink (./slack.ts); the
 * Slack face listens for the button's action id.
 */
import { ago, severityLabel } from '../../alerts/render.js';
import type { AlertRecord, AlertTransition, Severity } from '../../store/records.js';
import { context, escape, section, type Block, type Message } from './slack-block-kit.js';

/** The action id the app listens for; the button's value is the alert key. */
export const ACK_ACTION_ID = 'lifeboat_ack_alert';

const ICON: Record<Severity, string> = { critical: ':red_circle:', warning: ':large_orange_circle:', info: ':large_blue_circle:' };

/** Why a message about an alert that was already posted is posted again: it pages people, so it says so. */
const AGAIN: Partial<Record<AlertTransition, string>> = {
  repeated: 'repeated: still open and not acknowledged',
  escalated: 'severity raised',
};

export function alertMessage(alert: AlertRecord, now: Date, transition?: AlertTransition): Message {
  const resolved = alert.status === 'resolved';
  const head = resolved
    ? `:white_check_mark: *RESOLVED* \`${escape(alert.key)}\` — ~${escape(alert.message)}~`
    : `${ICON[alert.severity]} *${severityLabel(alert.severity)}* \`${escape(alert.key)}\` — ${escape(alert.message)}`;
  const facts = [`runbook *${escape(alert.runbook)}*`, `first seen ${ago(alert.firstSeen, now)}`, `${alert.count}×`];
  if (resolved) facts.push(`was ${alert.severity}`, `resolved ${ago(alert.resolvedAt, now)}`);
  if (alert.ackedBy) facts.push(`acknowledged by ${slackUser(alert.ackedBy)} ${ago(alert.ackedAt, now)}`);
  const again = transition ? AGAIN[transition] : undefined;
  if (again && !resolved) facts.push(again);
  const blocks: Block[] = [section(head), context(facts.join(' · '))];
  if (!resolved && !alert.ackedBy) {
    blocks.push({
      type: 'actions',
      block_id: 'lifeboat_alert_actions',
      elements: [{ type: 'button', action_id: ACK_ACTION_ID, text: { type: 'plain_text', text: 'Acknowledge' }, value: alert.key, style: 'primary' }],
    });
  }
  const text = resolved ? `RESOLVED ${alert.key}: ${alert.message}` : `${severityLabel(alert.severity)} ${alert.key}: ${alert.message}`;
  return { text, blocks };
}

/** Slack user ids render as mentions; local names (a TUI ack) as they are. */
function slackUser(user: string): string {
  return /^[UW][A-Z0-9]{2,}$/.test(user) ? `<@${user}>` : escape(user);
}
