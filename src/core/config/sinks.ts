/**
 * The sinks this process can deliver to: every sink of lifeboat.yaml whose
 * secret it can read, plus the implicit `slack` sink of runbooks that still
 * say only `alerts.slack: "#chan"` (it posts each alert to its own runbook's
 * channel). A sink whose secret cannot be read here is `unavailable`, with
 * the reason, and never an error: its deliveries wait in the outbox for a
 * process that has the secret (serve, usually).
 */
import { hostname } from 'node:os';
import { systemClock, type Clock } from '../clock.js';
import { emailSink } from '../notify/sinks/email.js';
import { ntfySink } from '../notify/sinks/ntfy.js';
import { pagerDutySink } from '../notify/sinks/pagerduty.js';
import { slackSink } from '../notify/sinks/slack.js';
import { webhookSink } from '../notify/sinks/webhook.js';
import { IMPLICIT_SLACK_SINK } from '../notify/routing.js';
import type { Sink } from '../notify/sink.js';
import type { Redactor } from '../redaction/redactor.js';
import { resolveSecret, type SecretEnv } from '../runbook/secrets.js';
import type { Runbook } from '../runbook/types.js';
import { LIFEBOAT_VERSION } from '../version.js';
import { DEFAULT_SLACK_TOKEN_ENV } from './schema.js';
import type { LifeboatConfig, SinkConfig } from './types.js';

/** Lifeboat's version as sinks report it (the webhook's `lifeboat.version`). */
export { LIFEBOAT_VERSION };

export interface UnavailableSink {
  name: string;
  type: SinkConfig['type'];
  /** Why this process cannot deliver to it, e.g. "Environment variable PD_ROUTING_KEY is not set (…)". */
  reason: string;
}

export interface BuiltSinks {
  sinks: Map<string, Sink>;
  unavailable: UnavailableSink[];
}

export interface BuildSinksOptions {
  clock?: Clock;
  /** Known secrets, for the Slack sink's last redaction net. */
  secrets?: Redactor;
  /** This host's name, as sinks report it (default os.hostname()). */
  host?: string;
}

async function build(name: string, c: SinkConfig, env: SecretEnv, options: Required<Pick<BuildSinksOptions, 'clock' | 'host'>> & BuildSinksOptions): Promise<Sink> {
  const purpose = (what: string) => `${what} of sink "${name}" in lifeboat.yaml`;
  switch (c.type) {
    case 'slack':
      return slackSink({
        name,
        token: await resolveSecret(c.token, env, purpose('the Slack bot token')),
        channel: c.channel,
        ...slackApi(env),
        clock: options.clock,
        ...(options.secrets ? { secrets: options.secrets } : {}),
      });
    case 'webhook':
      return webhookSink({
        name,
        url: c.url,
        ...(c.secret ? { secret: await resolveSecret(c.secret, env, purpose('the webhook secret')) } : {}),
        lifeboat: { version: LIFEBOAT_VERSION, host: options.host },
        clock: options.clock,
      });
    case 'ntfy':
      return ntfySink({ name, url: c.url, topic: c.topic, ...(c.token ? { token: await resolveSecret(c.token, env, purpose('the ntfy token')) } : {}) });
    case 'pagerduty':
      return pagerDutySink({ name, url: c.url, routingKey: await resolveSecret(c.routingKey, env, purpose('the PagerDuty routing key')), host: options.host });
    case 'email':
      return emailSink({
        name,
        smtp: {
          host: c.smtp.host,
          port: c.smtp.port,
          secure: c.smtp.secure,
          ...(c.smtp.user !== undefined ? { user: c.smtp.user } : {}),
          ...(c.smtp.password ? { password: await resolveSecret(c.smtp.password, env, purpose('the SMTP password')) } : {}),
        },
        from: c.from,
        to: c.to,
      });
  }
}

/** SLACK_API_URL (GovSlack, a test stand-in), as for the Slack face. */
function slackApi(env: SecretEnv): { apiUrl?: string } {
  const url = env.SLACK_API_URL;
  return url !== undefined && url !== '' ? { apiUrl: url } : {};
}

/**
 * Every sink of `config`, and the implicit Slack one when a runbook has
 * `alerts.slack` and no `alerts.notify` (unless lifeboat.yaml names a sink
 * `slack` itself: then that one is used).
 */
export async function buildSinks(config: LifeboatConfig, runbooks: readonly Runbook[], env: SecretEnv, options: BuildSinksOptions = {}): Promise<BuiltSinks> {
  const settings = { ...options, clock: options.clock ?? systemClock, host: options.host ?? hostname() };
  const sinks = new Map<string, Sink>();
  const unavailable: UnavailableSink[] = [];
  for (const [name, c] of Object.entries(config.notify)) {
    try {
      sinks.set(name, await build(name, c, env, settings));
    } catch (e) {
      unavailable.push({ name, type: c.type, reason: (e as Error).message });
    }
  }
  const channels = new Map(runbooks.filter((r) => r.alerts.slack !== undefined && r.alerts.notify === undefined).map((r) => [r.name, r.alerts.slack]));
  if (channels.size > 0 && !(IMPLICIT_SLACK_SINK in config.notify)) {
    try {
      const token = await resolveSecret({ kind: 'env', name: DEFAULT_SLACK_TOKEN_ENV }, env, `the Slack bot token (alerts.slack of ${[...channels.keys()].join(', ')})`);
      sinks.set(
        IMPLICIT_SLACK_SINK,
        slackSink({
          name: IMPLICIT_SLACK_SINK,
          token,
          // Each alert to its own runbook's channel, as before lifeboat.yaml existed.
          channelOf: (runbook) => channels.get(runbook),
          ...slackApi(env),
          clock: settings.clock,
          ...(options.secrets ? { secrets: options.secrets } : {}),
        }),
      );
    } catch (e) {
      unavailable.push({ name: IMPLICIT_SLACK_SINK, type: 'slack', reason: (e as Error).message });
    }
  }
  return { sinks, unavailable };
}
