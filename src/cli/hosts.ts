/**
 * The hosts the CLI launches: long-running processes that are not commands
 * (they are not invoked, audited or reachable from Slack or the console's
 * prompt) but receive the command registry and run commands themselves. Here
 * only what help says about them; main.ts loads each on demand.
 */
import { agentHelp } from '../agent/agent-args.js';
import { serveHelp } from '../serve/serve-args.js';
import type { HelpTopic } from './help-text.js';

export type HostHelp = HelpTopic;

const tuiHelp: HostHelp = {
  name: 'tui',
  summary: 'The terminal console: runbooks, live runs, history, alerts and a command prompt (also `lifeboat` alone on a terminal)',
  description: '`?` lists the keys; `:` runs any command (Tab completes); `q` quits. Runs started elsewhere (another terminal, Slack, serve) appear live. Needs a terminal: without one, `lifeboat tui` refuses (exit 2) and `lifeboat` alone prints the status table.',
  options: {},
};

export const hosts: readonly HostHelp[] = [tuiHelp, serveHelp, agentHelp];

export function findHost(name: string): HostHelp | undefined {
  return hosts.find((h) => h.name === name);
}
