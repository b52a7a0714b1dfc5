/**
 * Every help text, rendered from the specs: what the build writes to
 * dist/help.json (scripts/build.mjs) for bin/lifeboat.js to answer from, and
 * what main.ts prints when that file is absent (running from sources).
 */
import { commands } from '../../commands/index.js';
import { completionHelp } from './completion.js';
import type { HelpTexts } from './help-request.js';
import { renderCommandHelp, renderMainHelp, renderTopicHelp, VERSION } from './help-text.js';
import { hosts } from './hosts.js';

/** Topics of help that are not commands: the hosts, then the shell helpers. */
export const shellTopics = [completionHelp];

export function helpTexts(): HelpTexts {
  const topics: Record<string, string> = {};
  for (const command of commands) topics[command.name] = renderCommandHelp(command);
  for (const topic of [...hosts, ...shellTopics]) topics[topic.name] = renderTopicHelp(topic);
  return { main: renderMainHelp(commands, hosts, shellTopics), version: `lifeboat ${VERSION}\n`, topics };
}
