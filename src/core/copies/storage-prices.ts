/**
 * What keeping data in S3 costs per month, per storage class: us-east-1 LIST
 * prices in USD per GB-month (first 50 TB) from aws.amazon.com/s3/pricing, as
 * published in 2025, the same source and caveats as the retrieval prices
 * (src/core/tier/retrieval-prices.ts): "roughly what it costs", not an
 * invoice. INTELLIGENT_TIERING is priced at its frequent-access tier, the
 * most it charges for storage. Request fees and minimum durations are left
 * out: for a backup repository, whose objects are few and large, storage
 * dominates.
 */
import type { StorageClass } from '../runbook/types.js';
import { BYTES_PER_BILLED_GB, PRICES_AS_OF } from '../tier/retrieval-prices.js';

const USD_PER_GB_MONTH: Record<StorageClass, number> = {
  STANDARD: 0.023,
  STANDARD_IA: 0.0125,
  ONEZONE_IA: 0.01,
  INTELLIGENT_TIERING: 0.023,
  GLACIER_IR: 0.004,
  GLACIER: 0.0036,
  DEEP_ARCHIVE: 0.00099,
};

export { PRICES_AS_OF };

/** USD per month to keep `bytes` in `storageClass` (STANDARD when the bucket's default is used). */
export function monthlyStorageCostUsd(bytes: number, storageClass: StorageClass = 'STANDARD'): number {
  return (bytes / BYTES_PER_BILLED_GB) * USD_PER_GB_MONTH[storageClass];
}
