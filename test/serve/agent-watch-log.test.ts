/**
 * serve's agent watch during a store outage: every pass fails while PostgreSQL
 * is down, and serve's log says so once, then once more when a pass works again
 * (before: a line every interval, dozens in the outage test at 250 ms).
 */
import { describe, expect, it } from 'vitest';
import { silentNotifier } from '../../src/core/alerts/notifier.js';
import { FakeClock } from '../../src/core/clock.js';
import { MemoryStore } from '../../src/core/store/memory-store.js';
import { startAgentWatch } from '../../src/serve/agent-watch.js';

describe('serve agent watch log', () => {
  it('says a failing watch once per outage, and when it works again', async () => {
    let down = true;
    let passes = 0;
    const registry = {
      list: async () => {
        passes++;
        if (down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
        return [];
      },
      silent: async () => [],
      markLost: async () => false,
    };
    const lines: string[] = [];
    const watch = startAgentWatch({
      registry,
      store: new MemoryStore(),
      clock: new FakeClock(),
      notifier: silentNotifier,
      runbooks: () => [],
      intervalMs: 10,
      log: (level, message) => lines.push(`${level} ${message}`),
    });
    const passesReach = async (n: number) => {
      while (passes < n) await new Promise((r) => setTimeout(r, 5));
    };
    await passesReach(6);
    down = false;
    await passesReach(12);
    down = true;
    await passesReach(16);
    await watch.stop();
    expect(lines.filter((l) => l.includes('agent watch failed'))).toEqual([
      'warn lifeboat serve: agent watch failed (tried again every 10ms, said again when it works): connect ECONNREFUSED 127.0.0.1:5432',
      'warn lifeboat serve: agent watch failed (tried again every 10ms, said again when it works): connect ECONNREFUSED 127.0.0.1:5432',
    ]);
    expect(lines.filter((l) => l.includes('works again'))).toEqual(['info lifeboat serve: agent watch works again']);
  });
});
