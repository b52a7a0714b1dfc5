/**
 * Which connection `lifeboat serve` makes, from the environment: Socket Mode
 * when SLACK_BOT_TOKEN and SLACK_APP_TOKEN are set (no public URL needed),
 * else HTTP on 127.0.0.1 with SLACK_SIGNING_SECRET and a port (`--port` or
 * LIFEBOAT_SLACK_PORT) behind the operator's own TLS proxy. All problems are
 * reported at once.
 */
import type { SlackConnection } from './app.js';
import { SlackFaceError } from './errors.js';

export interface SlackConfig {
  botToken: string;
  connection: SlackConnection;
  /** SLACK_API_URL: the Web API base for GovSlack (https://slack-gov.com/api/) or a test stand-in. */
  slackApiUrl?: string;
}

export function slackConfigFromEnv(env: Readonly<Record<string, string | undefined>>, portOption?: string): SlackConfig {
  const bot = env.SLACK_BOT_TOKEN;
  const appToken = env.SLACK_APP_TOKEN;
  const secret = env.SLACK_SIGNING_SECRET;
  const portText = portOption ?? env.LIFEBOAT_SLACK_PORT;
  const problems: string[] = [];
  const apiUrl = env.SLACK_API_URL;
  if (apiUrl !== undefined && !/^https?:\/\/[^/]+(\/.*)?$/.test(apiUrl)) problems.push(`SLACK_API_URL must be an http(s) URL such as https://slack-gov.com/api/, got "${apiUrl}"`);
  const api = apiUrl ? { slackApiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/` } : {};
  if (!bot) problems.push('SLACK_BOT_TOKEN is not set (the xoxb- token from "OAuth & Permissions")');
  if (bot && !bot.startsWith('xoxb-')) problems.push('SLACK_BOT_TOKEN should be a bot token (xoxb-…)');
  if (appToken && !appToken.startsWith('xapp-')) problems.push('SLACK_APP_TOKEN should be an app-level token (xapp-…) with connections:write');
  if (bot && appToken && problems.length === 0) return { botToken: bot, connection: { mode: 'socket', appToken }, ...api };
  if (!appToken) {
    if (!secret) problems.push('set SLACK_APP_TOKEN for Socket Mode, or SLACK_SIGNING_SECRET and a port for HTTP mode');
    else if (portText === undefined) problems.push('HTTP mode needs a port: --port or LIFEBOAT_SLACK_PORT');
  }
  let port = 0;
  if (portText !== undefined) {
    port = Number(portText);
    if (!/^\d+$/.test(portText) || port > 65535) problems.push(`port must be a number 0-65535, got "${portText}"`);
  }
  if (problems.length > 0 || !bot || !secret) {
    throw new SlackFaceError('SLACK_CONFIG', `Slack is not configured: ${problems.join('; ')}`);
  }
  return { botToken: bot, connection: { mode: 'http', signingSecret: secret, port, host: '127.0.0.1' }, ...api };
}
