/**
 * The slice of Slack's Web API the face uses, as a port: the notifier, drill
 * announcements and live messages are written against it, and app.ts adapts
 * Bolt's WebClient to it (the SDK stays in its one adapter file).
 */
import type { Message } from './blocks/types.js';

export interface PostedMessage {
  /** The channel id Slack answered with (a `#name` is resolved to an id). */
  channel: string;
  ts: string;
}

export interface SlackApi {
  postMessage(channel: string, message: Message, options?: { threadTs?: string }): Promise<PostedMessage>;
  update(channel: string, ts: string, message: Message): Promise<void>;
  postEphemeral(channel: string, user: string, message: Message): Promise<void>;
  /** Every user group: id and handle (without the @). */
  listUsergroups(): Promise<{ id: string; handle: string }[]>;
  usergroupMembers(id: string): Promise<string[]>;
}

/** A logger shaped like Bolt's; the face reports Slack failures there and never into a run. */
export interface FaceLogger {
  warn(...msg: unknown[]): void;
  error(...msg: unknown[]): void;
}
