/**
 * The loop that keeps the Slack face connected (src/slack/link.ts), without
 * Slack: attempts that fail back off (doubling, capped), a refused token
 * waits the long delay, a dropped connection reconnects at once, and stop()
 * ends every wait.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { keepSlackLinked, SlackLinkError, type SlackLink, type SlackLinkState } from '../../src/slack/link.js';

const links: SlackLink[] = [];
afterEach(async () => {
  for (const l of links.splice(0)) await l.stop();
});

/** A link whose attempts fail `failures` times with `error`, then succeed; drops on demand. */
function harness(attempts: (n: number) => void | Promise<void>, options: { refusedDelayMs?: number } = {}) {
  const states: SlackLinkState[] = [];
  let drop: ((why: string) => void) | undefined;
  let n = 0;
  let abandoned = 0;
  const link = keepSlackLinked({
    connect: async () => attempts(++n),
    abandon: async () => {
      abandoned++;
    },
    dropped: () => new Promise<string>((resolve) => (drop = resolve)),
    onState: (s) => states.push(s),
    minDelayMs: 5,
    maxDelayMs: 20,
    refusedDelayMs: options.refusedDelayMs ?? 60_000,
  });
  links.push(link);
  return { link, states, attempts: () => n, abandoned: () => abandoned, drop: (why: string) => drop?.(why) };
}

const waits = (states: SlackLinkState[]) => states.flatMap((s) => (s.state === 'disconnected' ? [s.retryInMs] : []));

describe('keepSlackLinked', () => {
  it('retries a failing connection with doubling delays up to the cap, then stays connected', async () => {
    const h = harness((n) => {
      if (n <= 5) throw new SlackLinkError(`cannot verify the bot token with Slack (auth.test): ECONNREFUSED (attempt ${n})`);
    });
    await expect.poll(() => h.link.current().state, { timeout: 5000 }).toBe('connected');
    expect(waits(h.states)).toEqual([5, 10, 20, 20, 20]);
    expect(h.attempts()).toBe(6);
    expect(h.abandoned()).toBe(5);
    const last = h.states.filter((s) => s.state === 'disconnected').at(-1);
    expect(last).toMatchObject({ refused: false, reason: 'cannot verify the bot token with Slack (auth.test): ECONNREFUSED (attempt 5)' });
  });

  it('a refused token waits the long delay and says so; stop() ends the wait at once', async () => {
    const h = harness(() => {
      throw new SlackLinkError('cannot verify the bot token with Slack (auth.test): Slack refused SLACK_BOT_TOKEN: invalid_auth', { refused: true });
    });
    await expect.poll(() => h.link.current().state, { timeout: 5000 }).toBe('disconnected');
    expect(h.link.current()).toMatchObject({ refused: true, retryInMs: 60_000 });
    expect(h.attempts()).toBe(1);
    await h.link.stop();
    expect(h.attempts()).toBe(1);
  });

  it('a connection that drops reconnects at once, and failures after it back off from the start again', async () => {
    const failing = new Set([3, 4]);
    const h = harness((n) => {
      if (failing.has(n)) throw new Error(`apps.connections.open: ECONNREFUSED (attempt ${n})`);
    });
    await expect.poll(() => h.link.current().state, { timeout: 5000 }).toBe('connected');
    h.drop('the socket closed');
    await expect.poll(() => h.attempts(), { timeout: 5000 }).toBe(2);
    await expect.poll(() => h.link.current().state, { timeout: 5000 }).toBe('connected');
    h.drop('the socket closed');
    await expect.poll(() => h.attempts(), { timeout: 5000 }).toBe(5);
    await expect.poll(() => h.link.current().state, { timeout: 5000 }).toBe('connected');
    expect(h.states.map((s) => s.state)).toEqual([
      'connecting',
      'connected',
      'disconnected',
      'connecting',
      'connected',
      'disconnected',
      'connecting',
      'disconnected',
      'connecting',
      'disconnected',
      'connecting',
      'connected',
    ]);
    expect(waits(h.states)).toEqual([0, 0, 5, 10]);
    expect(h.states[2]).toMatchObject({ reason: 'connection lost (the socket closed); reconnecting' });
  });

  it('an attempt that never finishes counts as failed after the attempt timeout', async () => {
    const states: SlackLinkState[] = [];
    let n = 0;
    const link = keepSlackLinked({
      connect: () => (++n === 1 ? new Promise<void>(() => undefined) : Promise.resolve()),
      dropped: () => new Promise<string>(() => undefined),
      onState: (s) => states.push(s),
      minDelayMs: 5,
      attemptTimeoutMs: 50,
    });
    links.push(link);
    await expect.poll(() => link.current().state, { timeout: 5000 }).toBe('connected');
    expect(states.find((s) => s.state === 'disconnected')).toMatchObject({ reason: 'no connection within 0.05 s' });
  });
});
