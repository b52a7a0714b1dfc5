/**
 * One queue and one LISTEN connection per process and store, shared by every
 * dispatch in flight (commands/support/fleet-dispatch.ts). serve's scheduler
 * fires every runbook due at a minute at once: with a queue of their own each
 * of 500 fires opened a pool, ran pg-boss's start (its migration check, one
 * process at a time under an advisory lock) and a LISTEN connection, so the
 * fires queued behind each other for seconds and the store ran out of
 * connections (the fleet bench, bench/fleet.ts).
 *
 * Reference counted: the link opens with its first user and closes when the
 * last one lets go, so a one-shot CLI command still ends with no connection
 * left open (its process exits by itself). A long-lived dispatcher (serve)
 * calls `keepFleetLinksOpen` so links are not reopened every minute, and
 * `closeFleetLinks` when it stops.
 */
import { PgChannels } from './pg-channels.js';
import { FleetQueue } from './queue.js';

export interface FleetLink {
  queue: FleetQueue;
  channels: PgChannels;
}

/** Connections of the shared queue's pool: many dispatches wait on their jobs at once (status reads every few seconds each). */
const SHARED_QUEUE_CONNECTIONS = 4;

interface Entry {
  users: number;
  opening: Promise<FleetLink>;
}

const links = new Map<string, Entry>();
/** Set by a long-lived process: links stay open when their last user lets go. */
let keepOpen = false;

async function close(link: Promise<FleetLink>): Promise<void> {
  const opened = await link.catch(() => undefined);
  if (!opened) return;
  await opened.channels.close();
  await opened.queue.stop();
}

/**
 * The process's link to the queue at `url`, opened if need be; `release` when
 * done with it (exactly once). A failed open is not kept: the next user tries again.
 */
export async function acquireFleetLink(url: string): Promise<{ link: FleetLink; release: () => Promise<void> }> {
  let entry = links.get(url);
  if (!entry) {
    const opening = FleetQueue.open(url, { max: SHARED_QUEUE_CONNECTIONS }).then((queue) => ({ queue, channels: new PgChannels(url) }));
    entry = { users: 0, opening };
    links.set(url, entry);
    const mine = entry;
    opening.catch(() => {
      if (links.get(url) === mine) links.delete(url);
    });
  }
  entry.users++;
  const held = entry;
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    held.users--;
    if (held.users > 0 || (keepOpen && links.get(url) === held)) return;
    if (links.get(url) === held) links.delete(url);
    await close(held.opening);
  };
  try {
    return { link: await held.opening, release };
  } catch (e) {
    await release();
    throw e;
  }
}

/** From now on links stay open between dispatches (serve: its scheduler dispatches every minute). */
export function keepFleetLinksOpen(): void {
  keepOpen = true;
}

/** Closes every link nobody uses and stops keeping them open (a stopping serve); links in use close with their last user. */
export async function closeFleetLinks(): Promise<void> {
  keepOpen = false;
  const idle = [...links].filter(([, entry]) => entry.users === 0);
  for (const [url] of idle) links.delete(url);
  await Promise.all(idle.map(([, entry]) => close(entry.opening)));
}

/** How many links this process has open (for tests). */
export function openFleetLinks(): number {
  return links.size;
}
