/**
 * Drill announcements: `drill.announce` before a scheduled drill starts, a
 * message in the runbook's `alerts.slack` channel; the drill's result is then
 * posted in that message's thread. The scheduler (a later issue) calls these.
 */
import type { CommandResult } from '../../commands/command.js';
import type { Clock, DrillRecord, Runbook } from '../core/index.js';
import type { PostedMessage, SlackApi } from './api.js';
import { drillAnnouncementMessage, drillResultMessage } from './blocks/drill.js';
import { commandResultMessage } from './blocks/result.js';
import { SlackFaceError } from './errors.js';

export interface AnnounceDeps {
  api: Pick<SlackApi, 'postMessage'>;
  clock: Clock;
}

/** Posts the announcement; returns the channel id and the thread ts to reply in. */
export async function announceDrill(deps: AnnounceDeps, runbook: Pick<Runbook, 'name' | 'objectives' | 'alerts'>, startsAt: Date): Promise<PostedMessage> {
  const channel = runbook.alerts.slack;
  if (!channel) throw new SlackFaceError('SLACK_CONFIG', `runbook ${runbook.name} has no alerts.slack channel to announce its drill in`);
  return deps.api.postMessage(channel, drillAnnouncementMessage(runbook, startsAt, deps.clock.now()));
}

/** The drill's outcome as a reply in the announcement's thread: its RTO and phases, or why it failed. */
export async function postDrillResult(deps: Pick<AnnounceDeps, 'api'>, thread: PostedMessage, result: CommandResult): Promise<PostedMessage> {
  const drill = result.data as DrillRecord | undefined;
  const message = drill && typeof drill === 'object' && 'phases' in drill ? drillResultMessage(drill) : commandResultMessage('restore drill', result);
  return deps.api.postMessage(thread.channel, message, { threadTs: thread.ts });
}
