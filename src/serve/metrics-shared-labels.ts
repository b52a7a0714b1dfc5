/**
 * One empty "shared labels" object for every series of a metric, for
 * prom-client's text writer.
 *
 * prom-client 15's Registry formats each series' shared labels (a histogram's
 * notion) and caches the result in a WeakMap keyed by that object; a gauge's or
 * counter's series has none, so the writer makes a fresh `{}` per series per
 * scrape, misses its cache every time, formats it and adds a WeakMap entry for
 * the collector to clear. At 15,000 series a scrape (500 runbooks) that was a
 * fifth of the scrape's CPU (measured with --cpu-prof). Giving every series the
 * same frozen empty object makes each lookup a hit. It changes nothing in the
 * output (no label is added); should prom-client stop reading the property,
 * it is simply ignored.
 */
import type { MetricObjectWithValues, MetricValue } from 'prom-client';

const NO_SHARED_LABELS: Readonly<Record<string, never>> = Object.freeze({});

/** `metric`, whose collected values each carry the one empty shared-labels object. */
export function withSharedEmptyLabels<M extends { get(): Promise<MetricObjectWithValues<MetricValue<L>>> }, L extends string>(metric: M): M {
  const get = metric.get.bind(metric);
  metric.get = async () => {
    const collected = await get();
    for (const value of collected.values as { sharedLabels?: object }[]) value.sharedLabels ??= NO_SHARED_LABELS;
    return collected;
  };
  return metric;
}
