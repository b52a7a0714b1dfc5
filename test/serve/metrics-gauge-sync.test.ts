import { Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { gaugeSync } from '../../src/serve/metrics-gauge-sync.js';
import { withSharedEmptyLabels } from '../../src/serve/metrics-shared-labels.js';

/** The gauge's series as the exposition says them: `labels value` lines. */
async function seriesOf(registry: Registry): Promise<string[]> {
  const text = await registry.metrics();
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .sort();
}

describe('gaugeSync', () => {
  it('holds exactly the series of the last sync: new ones set, changed ones updated, missing ones removed', async () => {
    const registry = new Registry();
    const gauge = new Gauge({ name: 'g', help: 'h', labelNames: ['runbook', 'tier'], registers: [registry] });
    const sync = gaugeSync(gauge, ['runbook', 'tier']);

    sync((put) => {
      put({ runbook: 'a', tier: 'hot' }, 1);
      put({ runbook: 'b', tier: 'hot' }, 2);
      put({ runbook: 'b', tier: 'cold' }, 3);
    });
    expect(await seriesOf(registry)).toEqual(['g{runbook="a",tier="hot"} 1', 'g{runbook="b",tier="cold"} 3', 'g{runbook="b",tier="hot"} 2']);

    // a changes, b's cold series is no longer given (its runbook lost the tier), c is new.
    sync((put) => {
      put({ runbook: 'a', tier: 'hot' }, 10);
      put({ runbook: 'b', tier: 'hot' }, 2);
      put({ runbook: 'c', tier: 'hot' }, 0);
    });
    expect(await seriesOf(registry)).toEqual(['g{runbook="a",tier="hot"} 10', 'g{runbook="b",tier="hot"} 2', 'g{runbook="c",tier="hot"} 0']);

    // A label value with the separator's neighbours does not collide with another pair.
    sync((put) => {
      put({ runbook: 'x', tier: 'y z' }, 1);
      put({ runbook: 'x y', tier: 'z' }, 2);
    });
    expect(await seriesOf(registry)).toEqual(['g{runbook="x y",tier="z"} 2', 'g{runbook="x",tier="y z"} 1']);

    sync(() => undefined);
    expect(await seriesOf(registry)).toEqual([]);
  });

  it('keeps NaN as a value that does not change, and a gauge without labels', async () => {
    const registry = new Registry();
    const gauge = new Gauge({ name: 'n', help: 'h', registers: [registry] });
    const sync = gaugeSync(gauge, []);
    sync((put) => put({}, Number.NaN));
    sync((put) => put({}, Number.NaN));
    expect(await seriesOf(registry)).toEqual(['n Nan']);
    sync((put) => put({}, 4));
    expect(await seriesOf(registry)).toEqual(['n 4']);
  });
});

describe('withSharedEmptyLabels', () => {
  it('gives every series the same empty shared labels, scrape after scrape, and leaves the exposition as it was', async () => {
    const plain = new Registry();
    const shared = new Registry();
    const make = (registry: Registry) => new Gauge({ name: 'g', help: 'h', labelNames: ['runbook'], registers: [registry] });
    const a = make(plain);
    const b = withSharedEmptyLabels(make(shared));
    for (const g of [a, b]) for (const runbook of ['x', 'y', 'quo"te', 'back\\slash']) g.set({ runbook }, 1);

    const first = await b.get();
    const second = await b.get();
    const objects = new Set([...first.values, ...second.values].map((v) => (v as { sharedLabels?: object }).sharedLabels));
    expect(objects.size).toBe(1);
    expect(Object.keys([...objects][0]!)).toEqual([]);
    expect(await shared.metrics()).toBe(await plain.metrics());
  });
});
