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
 */
import type { FinishedWork } from './metrics-facts.js';

export class ObservedRunCounter {
  readonly #sinceMs: number;
  /** Ids already counted that the store still holds; ids it dropped are forgotten, so this stays as small as the history. */
  #counted = new Set<string>();

  /** `sinceMs`: when this process began observing (epoch ms, from its Clock). */
  constructor(sinceMs: number) {
    this.#sinceMs = sinceMs;
  }

  /** The finished work not counted before, out of everything the store holds now. */
  takeNew(work: readonly FinishedWork[]): FinishedWork[] {
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
