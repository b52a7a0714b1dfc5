/**
 * Calls made in one turn of the event loop, sent together: the first call of
 * a turn schedules a send after the turn (`defer`, setImmediate by default:
 * every timer due at one instant has run by then), calls made while a batch is
 * in flight form the next one, one batch at a time, at most `max` per batch.
 * Each call is answered with its own item's answer; a batch that fails fails
 * each of its calls. serve's burst at an instant (issue 19: 500 fires) uses it
 * for its claims, its queue inserts and its LISTEN/NOTIFY.
 */
export function batchedPerTurn<T, R>(
  send: (items: readonly T[]) => Promise<readonly R[]>,
  options: { max: number; defer?: (run: () => void) => void },
): (item: T) => Promise<R> {
  const defer = options.defer ?? setImmediate;
  let waiting: { item: T; resolve(answer: R): void; reject(e: unknown): void }[] = [];
  let busy = false;
  const drain = async (): Promise<void> => {
    while (waiting.length > 0) {
      const batch = waiting.slice(0, options.max);
      waiting = waiting.slice(batch.length);
      try {
        const answers = await send(batch.map((w) => w.item));
        batch.forEach((w, i) => w.resolve(answers[i]!));
      } catch (e) {
        for (const w of batch) w.reject(e);
      }
    }
    busy = false;
  };
  return (item) =>
    new Promise<R>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      if (busy) return;
      busy = true;
      defer(() => void drain());
    });
}
