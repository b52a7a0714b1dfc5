/**
 * The Slack sink of the Notifier port: a raised alert is posted to its
 * runbook's `alerts.slack` channel with an Acknowledge button; when it
 * resolves (or someone acknowledges it) that same message is updated.
 * Runbooks without `alerts.slack` are skipped. Which message belongs to which
 * alert is kept in memory: after a restart a resolution is posted as a new
 * message instead.
 */
import type { AlertRecord, Clock, Notifier } from '../core/index.js';
import type { PostedMessage, SlackApi } from './api.js';
import { alertMessage } from './blocks/alert.js';

export interface SlackNotifierOptions {
  api: Pick<SlackApi, 'postMessage' | 'update'>;
  /** The runbook's `alerts.slack` channel, or undefined when it has none. */
  channelOf(runbook: string): Promise<string | undefined>;
  clock: Clock;
}

export interface SlackNotifier extends Notifier {
  /** Where the alert's message is, when this process posted it. */
  messageOf(key: string): PostedMessage | undefined;
  /** Remember a message (e.g. one whose button was pressed) and redraw it from the record. */
  refresh(alert: AlertRecord, where: PostedMessage): Promise<void>;
}

export function slackNotifier(options: SlackNotifierOptions): SlackNotifier {
  const { api, clock } = options;
  const messages = new Map<string, PostedMessage>();
  return {
    async raised(alert) {
      const channel = await options.channelOf(alert.runbook);
      if (!channel) return;
      // A severity rise re-notifies: a new message pages people, and resolving updates the newest.
      messages.set(alert.key, await api.postMessage(channel, alertMessage(alert, clock.now())));
    },
    async resolved(alert) {
      const known = messages.get(alert.key);
      if (known) {
        await api.update(known.channel, known.ts, alertMessage(alert, clock.now()));
        messages.delete(alert.key);
        return;
      }
      const channel = await options.channelOf(alert.runbook);
      if (channel) await api.postMessage(channel, alertMessage(alert, clock.now()));
    },
    messageOf: (key) => messages.get(key),
    async refresh(alert, where) {
      if (alert.status === 'open') messages.set(alert.key, where);
      await api.update(where.channel, where.ts, alertMessage(alert, clock.now()));
    },
  };
}
