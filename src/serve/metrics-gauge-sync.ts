/**
 * A gauge set to exactly the series of this scrape, writing only what changed.
 *
 * A scrape of a team's serve fills ~15 gauges × 500 runbooks; between two
 * scrapes usually one runbook changed. Resetting every gauge and setting every
 * series again cost prom-client a label hash and a map entry per series per
 * scrape (~7,500 of each) and the garbage they leave. So each gauge remembers
 * what it was given last: a series whose value is the same is not touched, a
 * new or changed one is set, and one the scrape no longer gives is removed (a
 * runbook that left the loaded set leaves the output, as a reset would do).
 */
import type { Gauge, LabelValues } from 'prom-client';

interface Series<L extends string> {
  labels: LabelValues<L>;
  value: number;
  /** The sync that last gave it. */
  seen: number;
}

export type PutSeries<L extends string> = (labels: LabelValues<L>, value: number) => void;

/** Returns `sync(fill)`: `fill` puts every series of this scrape; afterwards the gauge holds those and no others. */
export function gaugeSync<L extends string>(gauge: Gauge<L>, labelNames: readonly L[]): (fill: (put: PutSeries<L>) => void) => void {
  const series = new Map<string, Series<L>>();
  let generation = 0;
  const keyOf = (labels: LabelValues<L>) => (labelNames.length === 1 ? String(labels[labelNames[0]!]) : labelNames.map((n) => String(labels[n])).join('\u0000'));
  return (fill) => {
    const now = ++generation;
    fill((labels, value) => {
      const key = keyOf(labels);
      const known = series.get(key);
      if (known === undefined) {
        series.set(key, { labels, value, seen: now });
        gauge.set(labels, value);
        return;
      }
      known.seen = now;
      // Object.is: NaN equals NaN, and 0 and -0 differ as the exposition writes them.
      if (!Object.is(known.value, value)) {
        known.value = value;
        gauge.set(labels, value);
      }
    });
    for (const [key, s] of series) {
      if (s.seen === now) continue;
      series.delete(key);
      gauge.remove(s.labels);
    }
  };
}
