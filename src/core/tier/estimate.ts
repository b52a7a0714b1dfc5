/**
 * What a restore from the cold tier would take and cost, without doing it: the
 * thaw S3 needs before archived packs are readable (AWS's published times, see
 * retrieval-prices.ts), the transfer at the throughput this runbook's drills
 * measured, and the retrieval fees. `restore --estimate`, `restore-drill --tier
 * cold --estimate` and `status` all read their cold RTO from here, so the three
 * never disagree.
 */
import { isPathDrill } from '../drill/drill-scope.js';
import { LifeboatError } from '../errors.js';
import { formatDuration, formatRate } from '../format.js';
import type { RetrievalTier, StorageClass } from '../runbook/types.js';
import type { DrillBrief, DrillPhase } from '../store/records.js';
import { BYTES_PER_BILLED_GB, PRICES_AS_OF, retrievalTerms, retrievalTiersOf } from './retrieval-prices.js';

export interface ColdRestoreEstimateInput {
  storageClass: StorageClass;
  retrieval: RetrievalTier;
  /** Bytes the restore reads from the cold repository. */
  bytes: number;
  /** Objects (packs) the restore reads: each is one restore request and one GET. */
  objects: number;
  /** Measured restore throughput; leave out to use the assumed default. */
  throughputBytesPerSec?: number;
}

export interface ColdRestoreEstimate {
  /** The thaw the estimate counts on: the upper bound of `thawRangeMs`. */
  thawMs: number;
  /** What AWS says a thaw typically takes, [low, high]; [0, 0] for classes readable at once. */
  thawRangeMs: [number, number];
  transferMs: number;
  /** thawMs + transferMs. */
  totalMs: number;
  throughputBytesPerSec: number;
  throughputBasis: 'measured' | 'assumed';
  costUsd: number;
  /** One line per fee, e.g. "retrieval 12.3 GB × $0.01/GB = $0.12"; they add up to costUsd. */
  costLines: string[];
  /** What the numbers rest on, for a person to judge them. */
  notes: string[];
}

/**
 * Used when no drill has measured this runbook's restore yet. 50 MiB/s is what
 * one S3 client restoring large packs typically sustains from within a region;
 * it is marked `assumed` so that nobody mistakes it for a measurement.
 */
export const ASSUMED_THROUGHPUT_BYTES_PER_SEC = 50 * 1024 * 1024;

/** How many recent drills the measured throughput is the median of: enough to ignore one odd drill, recent enough to follow a changed network. */
const THROUGHPUT_WINDOW = 5;

export function estimateColdRestore(input: ColdRestoreEstimateInput): ColdRestoreEstimate {
  checkCount('bytes', input.bytes);
  checkCount('objects', input.objects);
  const measured = input.throughputBytesPerSec;
  if (measured !== undefined && !(Number.isFinite(measured) && measured > 0)) {
    throw new LifeboatError('USAGE', `cold restore estimate: throughput must be a positive number of bytes per second, got ${String(measured)}`);
  }
  const terms = retrievalTerms(input.storageClass, input.retrieval);
  if (!terms) {
    throw new LifeboatError(
      'USAGE',
      `cold restore estimate: ${input.storageClass} cannot be thawed with ${input.retrieval} retrieval; S3 offers ${retrievalTiersOf(input.storageClass).join(' or ')} for it (set repository.cold.retrieval)`,
      { details: { storageClass: input.storageClass, retrieval: input.retrieval } },
    );
  }

  // An RTO is a promise: count on the slow end of AWS's "typically" range.
  const thawRangeMs: [number, number] = [terms.thawRangeMs[0], terms.thawRangeMs[1]];
  const thawMs = thawRangeMs[1];
  const throughputBytesPerSec = measured ?? ASSUMED_THROUGHPUT_BYTES_PER_SEC;
  const transferMs = Math.ceil((input.bytes * 1000) / throughputBytesPerSec);

  // Every fee gets a line, free ones too: "$0.00/GB" tells the operator it was counted, not forgotten.
  const gb = input.bytes / BYTES_PER_BILLED_GB;
  const fees: { line: string; usd: number }[] = [{ line: `retrieval ${formatGb(gb)} GB × ${usdRate(terms.usdPerGb)}/GB`, usd: gb * terms.usdPerGb }];
  if (terms.archived) {
    fees.push({ line: `restore requests ${input.objects} × ${usdRate(terms.usdPer1000Restores)}/1000`, usd: (input.objects / 1000) * terms.usdPer1000Restores });
  }
  fees.push({ line: `GET requests ${input.objects} × ${usdRate(terms.usdPer1000Gets)}/1000`, usd: (input.objects / 1000) * terms.usdPer1000Gets });
  const costUsd = fees.reduce((sum, f) => sum + f.usd, 0);

  const notes: string[] = [];
  if (terms.archived) {
    notes.push(
      `thaw: ${input.storageClass} ${input.retrieval} retrievals typically take ${formatDuration(thawRangeMs[0])}–${formatDuration(thawRangeMs[1])} (AWS's published range); the estimate counts on ${formatDuration(thawMs)}, the slow end`,
    );
    if (input.retrieval === 'Expedited') notes.push('Expedited retrievals can be refused when AWS lacks capacity, unless provisioned capacity was bought');
  } else {
    notes.push(`thaw: none, ${input.storageClass} objects are readable at once (the ${input.retrieval} retrieval tier does not apply)`);
  }
  notes.push(
    measured === undefined
      ? `transfer: at an assumed ${formatRate(throughputBytesPerSec)}; no drill of this runbook has measured its restore throughput yet`
      : `transfer: at ${formatRate(throughputBytesPerSec)}, measured by recent drills of this runbook`,
  );
  notes.push(`cost: ${PRICES_AS_OF}; region and contract change them; data transfer out of AWS and the thawed copies' storage are not included`);

  return {
    thawMs,
    thawRangeMs,
    transferMs,
    totalMs: thawMs + transferMs,
    throughputBytesPerSec,
    throughputBasis: measured === undefined ? 'assumed' : 'measured',
    costUsd,
    costLines: fees.map((f) => `${f.line} = ${usdAmount(f.usd)}`),
    notes,
  };
}

/**
 * Restore throughput measured by recent drills of this runbook (bytes/s, median
 * of the last few fetch+write phases), or undefined.
 *
 * Only drills that restored for real count: estimated drills measured nothing
 * and failed ones may have stopped half way. Drills of the cold tier are
 * preferred when there are any, since they crossed the same network path a cold
 * restore will; otherwise the hot tier's drills stand in. Path drills do not
 * count: a few files' rate is mostly latency, not what a whole restore reaches.
 * A drill read brief (without phases) measured nothing here.
 */
export function measuredThroughput(drills: readonly DrillBrief[]): number | undefined {
  const samples = drills
    .filter((d) => !d.estimated && !isPathDrill(d) && (d.verdict === 'met' || d.verdict === 'missed'))
    .map((d) => ({ drill: d, rate: restoreRate(d.phases) }))
    .filter((s): s is { drill: DrillBrief; rate: number } => s.rate !== undefined)
    .sort((a, b) => b.drill.startedAt.localeCompare(a.drill.startedAt));
  const cold = samples.filter((s) => s.drill.tier === 'cold');
  const recent = (cold.length > 0 ? cold : samples).slice(0, THROUGHPUT_WINDOW).map((s) => s.rate);
  return recent.length === 0 ? undefined : median(recent);
}

/** Bytes restored per second over the fetch and write phases together (restores overlap the two). */
function restoreRate(phases: readonly DrillPhase[] = []): number | undefined {
  const fetch = phases.find((p) => p.name === 'fetch');
  const write = phases.find((p) => p.name === 'write');
  if (!fetch || !write) return undefined;
  const bytes = write.bytes ?? fetch.bytes;
  const ms = fetch.durationMs + write.durationMs;
  if (bytes === undefined || bytes <= 0 || ms <= 0) return undefined;
  return (bytes * 1000) / ms;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function checkCount(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new LifeboatError('USAGE', `cold restore estimate: ${name} must be a whole number ≥ 0, got ${String(value)}`);
  }
}

/** 12.3, 0.45, 0.0047: enough digits that a small restore does not read as "0.0 GB". */
function formatGb(gb: number): string {
  if (gb === 0) return '0';
  if (gb >= 10) return gb.toFixed(1);
  if (gb >= 0.1) return gb.toFixed(2);
  return gb.toPrecision(2);
}

/** A unit price as AWS prints it: at least cents, more digits when the price has them ($0.0025, $10.00). */
function usdRate(usd: number): string {
  const decimals = (usd.toString().split('.')[1] ?? '').length;
  return `$${usd.toFixed(Math.max(2, decimals))}`;
}

/** An amount: cents, or four decimals below a cent so a tiny fee does not read as free. */
function usdAmount(usd: number): string {
  return `$${usd === 0 || usd >= 0.01 ? usd.toFixed(2) : usd.toFixed(4)}`;
}
