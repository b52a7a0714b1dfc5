/**
 * How serve tells people about a scheduled drill: `drill.announce` before it
 * starts, and its result afterwards. Always in the log; in Slack as well when
 * the Slack face runs and the runbook names an `alerts.slack` channel, where
 * the result goes into the announcement's thread.
 */
import type { CommandResult } from '../../commands/command.js';
import { compactDuration, type Clock, type Runbook } from '../core/index.js';

/** Where an announcement went, so the result can follow it there. */
export interface DrillThread {
  runbook: string;
  startsAt: Date;
  /** The Slack message to reply under, when one was posted. */
  slack?: { channel: string; ts: string };
}

export interface DrillAnnouncer {
  announce(runbook: Runbook, startsAt: Date): Promise<DrillThread>;
  result(thread: DrillThread, result: CommandResult): Promise<void>;
}

/** The Slack face's two calls (src/slack/app.ts), kept as a port so serve does not load Bolt without Slack. */
export interface SlackDrillPoster {
  announceDrill(runbook: Runbook, startsAt: Date): Promise<{ channel: string; ts: string }>;
  postDrillResult(thread: { channel: string; ts: string }, result: CommandResult): Promise<unknown>;
}

export function drillAnnouncer(deps: { clock: Clock; log(message: string): void; slack?: SlackDrillPoster }): DrillAnnouncer {
  return {
    async announce(runbook, startsAt) {
      const inMs = startsAt.getTime() - deps.clock.now().getTime();
      deps.log(`lifeboat serve: restore drill of ${runbook.name} starts in ${compactDuration(Math.max(0, inMs))} (${startsAt.toISOString()}); RTO target ${compactDuration(runbook.objectives.rtoMs)}`);
      const thread: DrillThread = { runbook: runbook.name, startsAt };
      if (deps.slack && runbook.alerts.slack) {
        try {
          thread.slack = await deps.slack.announceDrill(runbook, startsAt);
        } catch (e) {
          deps.log(`lifeboat serve: drill announcement of ${runbook.name} not posted to Slack: ${(e as Error).message}`);
        }
      }
      return thread;
    },
    async result(thread, result) {
      if (thread.slack && deps.slack) await deps.slack.postDrillResult(thread.slack, result);
    },
  };
}
