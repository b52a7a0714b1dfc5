/**
 * The few Block Kit shapes Lifeboat sends, typed here so the builders stay pure
 * and free of the Slack SDK (STYLE: an SDK lives in its adapter file). In core
 * because the Slack sink (./slack.ts) posts alert messages from any process;
 * the Slack face's builders (src/slack/blocks/) use the same shapes through
 * src/core/index.ts.
 */
export interface Text {
  type: 'mrkdwn' | 'plain_text';
  text: string;
}

export interface ButtonElement {
  type: 'button';
  action_id: string;
  text: { type: 'plain_text'; text: string };
  value: string;
  style?: 'primary' | 'danger';
}

export type Block =
  | { type: 'header'; text: { type: 'plain_text'; text: string } }
  | { type: 'section'; text: Text; fields?: Text[] }
  | { type: 'context'; elements: Text[] }
  | { type: 'divider' }
  | { type: 'actions'; block_id?: string; elements: ButtonElement[] };

/** A message: blocks plus the plain-text fallback Slack shows in notifications. */
export interface Message {
  text: string;
  blocks: Block[];
}

/** Slack caps a section's text at 3000 characters; longer text is cut with a note. */
export const SECTION_LIMIT = 3000;

export function mrkdwn(text: string): Text {
  return { type: 'mrkdwn', text: clip(text) };
}

export function section(text: string, fields?: string[]): Block {
  return fields && fields.length > 0 ? { type: 'section', text: mrkdwn(text), fields: fields.map(mrkdwn) } : { type: 'section', text: mrkdwn(text) };
}

export function context(...texts: string[]): Block {
  return { type: 'context', elements: texts.map(mrkdwn) };
}

export function header(text: string): Block {
  return { type: 'header', text: { type: 'plain_text', text: text.slice(0, 150) } };
}

/** Monospace block for tables and plans; the fence survives clipping. */
export function codeBlock(lines: readonly string[]): string {
  // Slack reads &, < and > as markup even inside a code block.
  const body = escape(lines.join('\n').replace(/```/g, "'''"));
  const max = SECTION_LIMIT - 40;
  return '```\n' + (body.length > max ? `${body.slice(0, max)}\n… (cut)` : body) + '\n```';
}

/** Escapes the three characters Slack's mrkdwn treats as markup. */
export function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(text: string): string {
  return text.length > SECTION_LIMIT ? `${text.slice(0, SECTION_LIMIT - 8)}… (cut)` : text;
}
