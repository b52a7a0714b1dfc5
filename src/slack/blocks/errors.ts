/** Ephemeral replies for requests that did not run: what is wrong and what would work. */
import { context, escape, section, type Message } from './types.js';

export type ProblemKind = 'usage' | 'unknown-runbook' | 'refused' | 'failed';

export interface Problem {
  kind: ProblemKind;
  /** The request as typed, e.g. `/backup nope`. */
  request: string;
  /** What is wrong, one line (from the command's result). */
  message: string;
  /** What would work: usage lines, runbook names, who may. Lifeboat's own mrkdwn, not escaped. */
  hints?: readonly string[];
}

const TITLE: Record<ProblemKind, string> = {
  usage: ':warning: That request is not quite right',
  'unknown-runbook': ':mag: No such runbook',
  refused: ':lock: Not allowed',
  failed: ':x: Failed',
};

export function problemMessage(p: Problem): Message {
  const blocks = [section(`${TITLE[p.kind]}\n\`${escape(p.request)}\`: ${mentions(escape(p.message))}`)];
  if (p.hints && p.hints.length > 0) blocks.push(context(...p.hints));
  return { text: `${p.request}: ${p.message}`, blocks };
}

/** Slack user ids in a message (an access list) become mentions, so people see names. */
function mentions(text: string): string {
  return text.replace(/\b([UW][A-Z0-9]{6,})\b/g, '<@$1>');
}
