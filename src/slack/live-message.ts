/**
 * One message updated in place while a run goes. Slack allows about one
 * chat.update per second per channel, so updates are coalesced: the newest
 * content wins, and at most one call is sent per `minIntervalMs`. `finish`
 * always sends the final content (after waiting out the interval). Slack
 * failures are logged, never thrown into the run.
 */
import type { FaceLogger, PostedMessage, SlackApi } from './api.js';
import type { Message } from './blocks/types.js';

export interface LiveMessageOptions {
  api: Pick<SlackApi, 'postMessage' | 'update'>;
  channel: string;
  threadTs?: string;
  /** Default 1000 ms. */
  minIntervalMs?: number;
  logger?: FaceLogger;
}

export class LiveMessage {
  private posted: PostedMessage | undefined;
  private pending: Message | undefined;
  private inflight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastSentAt = -Infinity;
  private readonly interval: number;

  constructor(private readonly options: LiveMessageOptions) {
    this.interval = options.minIntervalMs ?? 1000;
  }

  /** The message, once posted. */
  get where(): PostedMessage | undefined {
    return this.posted;
  }

  get started(): boolean {
    return this.posted !== undefined || this.inflight !== undefined || this.pending !== undefined;
  }

  /** Show `message` soon (coalesced with later calls). */
  show(message: Message): void {
    this.pending = message;
    this.schedule();
  }

  /** Send `message` as the final state; resolves once Slack has it (or has failed). True when delivered. */
  async finish(message: Message): Promise<boolean> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
    await this.inflight;
    const wait = this.lastSentAt + this.interval - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    return this.send(message);
  }

  private schedule(): void {
    if (this.timer || this.inflight) return;
    const wait = Math.max(0, this.lastSentAt + this.interval - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const message = this.pending;
      this.pending = undefined;
      if (!message) return;
      this.inflight = this.send(message).then(() => {
        this.inflight = undefined;
        if (this.pending) this.schedule();
      });
    }, wait);
  }

  private async send(message: Message): Promise<boolean> {
    const { api, channel, threadTs, logger } = this.options;
    this.lastSentAt = Date.now();
    try {
      if (this.posted) await api.update(this.posted.channel, this.posted.ts, message);
      else this.posted = await api.postMessage(channel, message, threadTs ? { threadTs } : undefined);
      return true;
    } catch (e) {
      logger?.warn(`lifeboat slack: could not ${this.posted ? 'update' : 'post'} the run message in ${channel}: ${(e as Error).message}`);
      return false;
    }
  }
}
