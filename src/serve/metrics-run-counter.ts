/**
 * Which finished runs and drills a scrape should add to `lifeboat_runs_total`.
 *
 * A count read from the store's history would not be a counter: history is
 * bounded per runbook (StoreLimits), so once it is full the "total" stops
 * growing or drops, and Prometheus' rate() reads a drop as a restart. So the
 * count is kept in this process instead, fed from the store at each scrape:
 * every run or drill that finished after this process started, in any process
 * that writes the store, is counted once, with the outcome it finished with.
 * Work that ended before the start is history, not something this process saw
 * happen; a restart starts the counter from zero, which rate() handles.
 *
 * A scrape does not read every run since the start either (weeks of a team's
 * runs): only the work that ended from `readFromMs()` on, which is the start
 * until the first read, then LOOK_BACK_MS before the last read. Work whose
 * record arrives with an end older than that (a host's clock more than that
 * behind, a run found abandoned long after its last sign of life) is not
 * counted; its outcome still shows in history and in its alert.
 */
import type { FinishedWork } from './metrics-facts.js';

/** How far before the last read the next one looks again: room for clocks and for records written a while after their end. */
export const LOOK_BACK_MS = 60 * 60_000;

export class ObservedRunCounter {
  readonly #sinceMs: number;
  #lastReadMs = -Infinity;
  /**
   * Ids already counted that the last read still held; ids out of it are
   * forgotten (the window only moves forward and an end does not change, so
   * they are never read again), so this stays as small as one window.
   */
  #counted = new Set<string>();

  /** `sinceMs`: when this process began observing (epoch ms, from its Clock). */
  constructor(sinceMs: number) {
    this.#sinceMs = sinceMs;
  }

  /** The earliest end the next read must include (epoch ms). */
  readFromMs(): number {
    return Math.max(this.#sinceMs, this.#lastReadMs - LOOK_BACK_MS);
  }

  /**
   * The finished work not counted before, out of what the store held from
   * readFromMs() on when it was read at `readAtMs` (epoch ms, from the Clock).
   */
  takeNew(work: readonly FinishedWork[], readAtMs?: number): FinishedWork[] {
    if (readAtMs !== undefined && readAtMs > this.#lastReadMs) this.#lastReadMs = readAtMs;
    const present = new Set<string>();
    const fresh: FinishedWork[] = [];
    for (const item of work) {
      present.add(item.id);
      if (this.#counted.has(item.id)) continue;
      // NaN (an unparseable end time) fails this too: without a time it cannot be placed after the start.
      if (!(item.endedMs >= this.#sinceMs)) continue;
      this.#counted.add(item.id);
      fresh.push(item);
    }
    for (const id of this.#counted) if (!present.has(id)) this.#counted.delete(id);
    return fresh;
  }
}
