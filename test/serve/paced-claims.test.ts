/**
 * serve's claims of fires (paced-claims.ts): 500 runbooks due at one minute
 * claimed at once timed out in the store's two-connection pool (the fleet
 * bench), each a missed fire. Paced, at most `limit` claims reach the state at
 * a time, every claim is still made and answered as the state answers, and a
 * claim that fails frees its turn.
 */
import { describe, expect, it } from 'vitest';
import type { ScheduleState } from '../../src/core/index.js';
import { pacedClaims } from '../../src/serve/paced-claims.js';

function countingState(answer: (runbook: string) => boolean | Error) {
  let inFlight = 0;
  let most = 0;
  const claimed: string[] = [];
  const state: ScheduleState = {
    lastHandled: () => undefined,
    async markHandled(runbook) {
      inFlight++;
      most = Math.max(most, inFlight);
      // A real round trip: other claims get the chance to pile in meanwhile.
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      claimed.push(runbook);
      const a = answer(runbook);
      if (a instanceof Error) throw a;
      return a;
    },
  };
  return { state, most: () => most, claimed };
}

describe('paced claims', () => {
  it('lets at most two claims reach the state at once, and makes every one', async () => {
    const inner = countingState((rb) => rb !== 'rb-7');
    const paced = pacedClaims(inner.state);
    const names = Array.from({ length: 50 }, (_, i) => `rb-${i}`);
    const at = new Date('2026-12-06T15:00:00Z');
    const answers = await Promise.all(names.map((n) => paced.markHandled(n, 'backup', at)));
    expect(inner.most()).toBe(2);
    expect(inner.claimed.sort()).toEqual([...names].sort());
    expect(answers.filter((a) => !a)).toHaveLength(1);
    expect(answers[7]).toBe(false);
  });

  it('a claim that throws passes the error on and frees its turn', async () => {
    const inner = countingState((rb) => (rb === 'bad' ? new Error('store said no') : true));
    const paced = pacedClaims(inner.state, 1);
    const at = new Date();
    const results = await Promise.allSettled(['bad', 'a', 'b'].map((n) => paced.markHandled(n, 'backup', at)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(inner.most()).toBe(1);
  });

  it('with a batch-capable state, one turn\'s claims are one batch; a batch that throws rejects its claims only', async () => {
    const batches: string[][] = [];
    const state: ScheduleState = {
      lastHandled: () => undefined,
      markHandled: () => Promise.reject(new Error('not used when batches are offered')),
      async markHandledAll(fires) {
        batches.push(fires.map((f) => f.runbook));
        await new Promise((resolve) => setImmediate(resolve));
        if (fires.some((f) => f.runbook === 'bad')) throw new Error('store said no');
        return fires.map((f) => f.runbook !== 'taken');
      },
    };
    const claims = pacedClaims(state);
    const at = new Date('2026-12-06T15:00:00Z');
    const first = await Promise.allSettled(['a', 'bad', 'c'].map((n) => claims.markHandled(n, 'backup', at)));
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(await Promise.all(['d', 'taken', 'e'].map((n) => claims.markHandled(n, 'backup', at)))).toEqual([true, false, true]);
    expect(batches).toEqual([['a', 'bad', 'c'], ['d', 'taken', 'e']]);
  });
});
