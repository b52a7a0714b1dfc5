/** Median and median absolute deviation: spread measures one odd run cannot drag around. */

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median of |x − median(xs)|. */
export function medianAbsoluteDeviation(values: readonly number[], center = median(values)): number {
  return median(values.map((v) => Math.abs(v - center)));
}

/**
 * 1.4826 × MAD estimates the standard deviation of normally distributed values,
 * so a threshold of 3.5 of these (the runbook default) is the Iglewicz–Hoaglin
 * modified z-score cut-off: about 1 run in 2,000 of ordinary noise, not 1 in 50
 * as 3.5 raw MADs would be with three metrics checked after every backup.
 */
export const MAD_TO_SIGMA = 1.4826;
