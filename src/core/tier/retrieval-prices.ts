/**
 * How long S3 takes to make cold data readable again, and what reading it back
 * costs, per storage class and retrieval tier. These are AWS's published figures,
 * written down as data so that an RTO estimate can say where its numbers come from.
 *
 * Thaw times: "Archive retrieval options" in the S3 User Guide
 * (docs.aws.amazon.com/AmazonS3/latest/userguide/restoring-objects-retrieval-options.html).
 * They are what AWS says restores "typically" take; AWS promises no upper bound,
 * so an RTO built on them is an estimate, never a guarantee.
 *
 * Prices: us-east-1 LIST prices in USD from aws.amazon.com/s3/pricing, as
 * published in 2025 (the Glacier figures match AWS's own worked example in the
 * re:Post article "s3-manage-data-retrieval"). Other regions, enterprise
 * agreements, savings plans and AWS's own price changes move them — read the
 * cost line as "roughly what it costs", not as an invoice. AWS bills a "GB" as
 * 2^30 bytes.
 */
import type { RetrievalTier, StorageClass } from '../runbook/types.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** What reading objects back from one storage class (with one retrieval tier, for archive classes) involves. */
export interface RetrievalTerms {
  /** Typical time until an archived object is readable after RestoreObject, [low, high] ms; [0, 0] when readable at once. */
  thawRangeMs: [number, number];
  /** Fee per GB (2^30 bytes) read back (archive classes: per GB restored). */
  usdPerGb: number;
  /** Fee per 1,000 RestoreObject requests (archive classes only, else 0). */
  usdPer1000Restores: number;
  /** Fee per 1,000 GET requests that read the (thawed) objects. */
  usdPer1000Gets: number;
  /** Needs a RestoreObject (a thaw) before a GET can read it. */
  archived: boolean;
}

/** GET requests in us-east-1: Standard-class price, which also applies to reading a thawed Glacier copy. */
const GET_STANDARD = 0.0004;

/** Classes whose objects are readable at once; a retrieval tier does not apply to them. */
const instant: Record<Exclude<StorageClass, 'GLACIER' | 'DEEP_ARCHIVE'>, RetrievalTerms> = {
  STANDARD: { thawRangeMs: [0, 0], usdPerGb: 0, usdPer1000Restores: 0, usdPer1000Gets: GET_STANDARD, archived: false },
  // Frequent and Infrequent Access tiers; objects that opted into the Archive Access tiers need a restore like GLACIER.
  INTELLIGENT_TIERING: { thawRangeMs: [0, 0], usdPerGb: 0, usdPer1000Restores: 0, usdPer1000Gets: GET_STANDARD, archived: false },
  STANDARD_IA: { thawRangeMs: [0, 0], usdPerGb: 0.01, usdPer1000Restores: 0, usdPer1000Gets: 0.001, archived: false },
  ONEZONE_IA: { thawRangeMs: [0, 0], usdPerGb: 0.01, usdPer1000Restores: 0, usdPer1000Gets: 0.001, archived: false },
  GLACIER_IR: { thawRangeMs: [0, 0], usdPerGb: 0.03, usdPer1000Restores: 0, usdPer1000Gets: 0.01, archived: false },
};

/** Archive classes by retrieval tier; a missing tier is one S3 refuses for that class. */
const archive: Record<'GLACIER' | 'DEEP_ARCHIVE', Partial<Record<RetrievalTier, RetrievalTerms>>> = {
  // S3 Glacier Flexible Retrieval. Bulk retrievals are free.
  GLACIER: {
    Expedited: { thawRangeMs: [1 * MINUTE, 5 * MINUTE], usdPerGb: 0.03, usdPer1000Restores: 10, usdPer1000Gets: GET_STANDARD, archived: true },
    Standard: { thawRangeMs: [3 * HOUR, 5 * HOUR], usdPerGb: 0.01, usdPer1000Restores: 0.05, usdPer1000Gets: GET_STANDARD, archived: true },
    Bulk: { thawRangeMs: [5 * HOUR, 12 * HOUR], usdPerGb: 0, usdPer1000Restores: 0, usdPer1000Gets: GET_STANDARD, archived: true },
  },
  // AWS only says "within 12 hours" / "within 48 hours"; the 9 h floor is the earliest
  // start AWS quotes for any Deep Archive restore (batch Standard restores "start within 9 hours").
  DEEP_ARCHIVE: {
    Standard: { thawRangeMs: [9 * HOUR, 12 * HOUR], usdPerGb: 0.02, usdPer1000Restores: 0.1, usdPer1000Gets: GET_STANDARD, archived: true },
    Bulk: { thawRangeMs: [9 * HOUR, 48 * HOUR], usdPerGb: 0.0025, usdPer1000Restores: 0.025, usdPer1000Gets: GET_STANDARD, archived: true },
  },
};

/** The terms for a class and tier, or undefined when S3 has no such retrieval (Expedited from DEEP_ARCHIVE). */
export function retrievalTerms(storageClass: StorageClass, retrieval: RetrievalTier): RetrievalTerms | undefined {
  if (storageClass === 'GLACIER' || storageClass === 'DEEP_ARCHIVE') return archive[storageClass][retrieval];
  return instant[storageClass];
}

/** The retrieval tiers S3 accepts for an archive class (all tiers are moot for the others). */
export function retrievalTiersOf(storageClass: StorageClass): RetrievalTier[] {
  if (storageClass === 'GLACIER' || storageClass === 'DEEP_ARCHIVE') return Object.keys(archive[storageClass]) as RetrievalTier[];
  return ['Expedited', 'Standard', 'Bulk'];
}

/** Which date the prices above were taken from; printed with every cost estimate. */
export const PRICES_AS_OF = '2025 list prices, us-east-1';

/** AWS bills storage and retrieval per GB of 2^30 bytes. */
export const BYTES_PER_BILLED_GB = 1024 ** 3;
