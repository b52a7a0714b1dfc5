import { describe, expect, it } from 'vitest';
import { isLifeboatError } from '../../../src/core/errors.js';
import type { RetrievalTier, StorageClass } from '../../../src/core/runbook/types.js';
import type { DrillRecord } from '../../../src/core/store/records.js';
import { ASSUMED_THROUGHPUT_BYTES_PER_SEC, estimateColdRestore, measuredThroughput } from '../../../src/core/tier/estimate.js';

const MIN = 60_000;
const H = 60 * MIN;
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** AWS's published thaw ranges, written out again here so a typo in the table cannot agree with itself. */
const published: [StorageClass, RetrievalTier, [number, number]][] = [
  ['GLACIER', 'Expedited', [1 * MIN, 5 * MIN]],
  ['GLACIER', 'Standard', [3 * H, 5 * H]],
  ['GLACIER', 'Bulk', [5 * H, 12 * H]],
  ['DEEP_ARCHIVE', 'Standard', [9 * H, 12 * H]],
  ['DEEP_ARCHIVE', 'Bulk', [9 * H, 48 * H]],
  ['GLACIER_IR', 'Standard', [0, 0]],
  ['STANDARD_IA', 'Standard', [0, 0]],
  ['ONEZONE_IA', 'Bulk', [0, 0]],
  ['STANDARD', 'Expedited', [0, 0]],
  ['INTELLIGENT_TIERING', 'Standard', [0, 0]],
];

/** Per-GB and per-1,000-request fees (us-east-1 list prices) the cost lines must show. */
const fees: [StorageClass, RetrievalTier, string[]][] = [
  ['GLACIER', 'Expedited', ['retrieval 12.3 GB × $0.03/GB = $0.37', 'restore requests 740 × $10.00/1000 = $7.40', 'GET requests 740 × $0.0004/1000 = $0.0003']],
  ['GLACIER', 'Standard', ['retrieval 12.3 GB × $0.01/GB = $0.12', 'restore requests 740 × $0.05/1000 = $0.04', 'GET requests 740 × $0.0004/1000 = $0.0003']],
  ['GLACIER', 'Bulk', ['retrieval 12.3 GB × $0.00/GB = $0.00', 'restore requests 740 × $0.00/1000 = $0.00', 'GET requests 740 × $0.0004/1000 = $0.0003']],
  ['DEEP_ARCHIVE', 'Standard', ['retrieval 12.3 GB × $0.02/GB = $0.25', 'restore requests 740 × $0.10/1000 = $0.07', 'GET requests 740 × $0.0004/1000 = $0.0003']],
  ['DEEP_ARCHIVE', 'Bulk', ['retrieval 12.3 GB × $0.0025/GB = $0.03', 'restore requests 740 × $0.025/1000 = $0.02', 'GET requests 740 × $0.0004/1000 = $0.0003']],
  ['GLACIER_IR', 'Standard', ['retrieval 12.3 GB × $0.03/GB = $0.37', 'GET requests 740 × $0.01/1000 = $0.0074']],
  ['STANDARD_IA', 'Standard', ['retrieval 12.3 GB × $0.01/GB = $0.12', 'GET requests 740 × $0.001/1000 = $0.0007']],
  ['ONEZONE_IA', 'Standard', ['retrieval 12.3 GB × $0.01/GB = $0.12', 'GET requests 740 × $0.001/1000 = $0.0007']],
  ['STANDARD', 'Standard', ['retrieval 12.3 GB × $0.00/GB = $0.00', 'GET requests 740 × $0.0004/1000 = $0.0003']],
  ['INTELLIGENT_TIERING', 'Standard', ['retrieval 12.3 GB × $0.00/GB = $0.00', 'GET requests 740 × $0.0004/1000 = $0.0003']],
];

const bytes12_3GB = Math.round(12.3 * GiB);

function amounts(lines: string[]): number[] {
  return lines.map((l) => Number(/= \$(\d+\.\d+)$/.exec(l)?.[1] ?? NaN));
}

describe('estimateColdRestore: thaw', () => {
  it.each(published)('%s %s thaws in AWS’s published range and counts on its slow end', (storageClass, retrieval, range) => {
    const e = estimateColdRestore({ storageClass, retrieval, bytes: GiB, objects: 64, throughputBytesPerSec: 100 * MiB });
    expect(e.thawRangeMs).toEqual(range);
    expect(e.thawMs).toBe(range[1]);
    expect(e.totalMs).toBe(e.thawMs + e.transferMs);
  });

  it('says the thaw is the slow end of a range for archive classes, and that there is none for the others', () => {
    const glacier = estimateColdRestore({ storageClass: 'GLACIER', retrieval: 'Standard', bytes: GiB, objects: 64 });
    expect(glacier.notes[0]).toBe("thaw: GLACIER Standard retrievals typically take 3h00m–5h00m (AWS's published range); the estimate counts on 5h00m, the slow end");
    const ia = estimateColdRestore({ storageClass: 'STANDARD_IA', retrieval: 'Bulk', bytes: GiB, objects: 64 });
    expect(ia.notes[0]).toBe('thaw: none, STANDARD_IA objects are readable at once (the Bulk retrieval tier does not apply)');
    const expedited = estimateColdRestore({ storageClass: 'GLACIER', retrieval: 'Expedited', bytes: GiB, objects: 64 });
    expect(expedited.notes.some((n) => n.includes('provisioned capacity'))).toBe(true);
  });

  it('refuses Expedited retrieval from DEEP_ARCHIVE with a usage error that names the tiers S3 offers', () => {
    let caught: unknown;
    try {
      estimateColdRestore({ storageClass: 'DEEP_ARCHIVE', retrieval: 'Expedited', bytes: GiB, objects: 64 });
    } catch (e) {
      caught = e;
    }
    expect(isLifeboatError(caught, 'USAGE')).toBe(true);
    expect((caught as Error).message).toBe(
      'cold restore estimate: DEEP_ARCHIVE cannot be thawed with Expedited retrieval; S3 offers Standard or Bulk for it (set repository.cold.retrieval)',
    );
    expect((caught as { exitCode: number }).exitCode).toBe(2);
  });

  it('refuses sizes and throughputs that are not numbers it can use', () => {
    const base = { storageClass: 'GLACIER' as const, retrieval: 'Standard' as const, bytes: GiB, objects: 64 };
    expect(() => estimateColdRestore({ ...base, bytes: -1 })).toThrow('bytes must be a whole number ≥ 0, got -1');
    expect(() => estimateColdRestore({ ...base, objects: 1.5 })).toThrow('objects must be a whole number ≥ 0, got 1.5');
    expect(() => estimateColdRestore({ ...base, bytes: Number.NaN })).toThrow('bytes must be a whole number ≥ 0, got NaN');
    expect(() => estimateColdRestore({ ...base, throughputBytesPerSec: 0 })).toThrow('throughput must be a positive number of bytes per second, got 0');
    expect(() => estimateColdRestore({ ...base, throughputBytesPerSec: Number.POSITIVE_INFINITY })).toThrow('got Infinity');
  });
});

describe('estimateColdRestore: transfer', () => {
  it('takes the transfer time from a measured throughput and says it was measured', () => {
    const e = estimateColdRestore({ storageClass: 'GLACIER', retrieval: 'Standard', bytes: GiB, objects: 64, throughputBytesPerSec: 10 * MiB });
    expect(e).toMatchObject({ throughputBytesPerSec: 10 * MiB, throughputBasis: 'measured', transferMs: 102_400, thawMs: 5 * H, totalMs: 5 * H + 102_400 });
    expect(e.notes).toContain('transfer: at 10.0 MiB/s, measured by recent drills of this runbook');
  });

  it('assumes 50 MiB/s when nothing was measured, and marks it assumed', () => {
    const e = estimateColdRestore({ storageClass: 'DEEP_ARCHIVE', retrieval: 'Bulk', bytes: 10 * GiB, objects: 640 });
    expect(ASSUMED_THROUGHPUT_BYTES_PER_SEC).toBe(50 * MiB);
    expect(e).toMatchObject({ throughputBytesPerSec: 50 * MiB, throughputBasis: 'assumed', transferMs: 204_800, totalMs: 48 * H + 204_800 });
    expect(e.notes).toContain('transfer: at an assumed 50.0 MiB/s; no drill of this runbook has measured its restore throughput yet');
  });

  it('rounds a partial millisecond up, and an empty restore transfers nothing', () => {
    expect(estimateColdRestore({ storageClass: 'STANDARD', retrieval: 'Standard', bytes: 1, objects: 1, throughputBytesPerSec: 3 }).transferMs).toBe(334);
    const empty = estimateColdRestore({ storageClass: 'STANDARD', retrieval: 'Standard', bytes: 0, objects: 0 });
    expect(empty).toMatchObject({ transferMs: 0, totalMs: 0, costUsd: 0 });
  });
});

describe('estimateColdRestore: cost', () => {
  it.each(fees)('%s %s: one line per fee at us-east-1 list prices', (storageClass, retrieval, lines) => {
    const e = estimateColdRestore({ storageClass, retrieval, bytes: bytes12_3GB, objects: 740 });
    expect(e.costLines).toEqual(lines);
    // The lines add up to the total, within the rounding of what they print.
    const sum = amounts(e.costLines).reduce((a, b) => a + b, 0);
    expect(Math.abs(sum - e.costUsd)).toBeLessThanOrEqual(0.005 * e.costLines.length);
  });

  it('computes the total from the prices, not from the printed cents', () => {
    const e = estimateColdRestore({ storageClass: 'GLACIER', retrieval: 'Standard', bytes: bytes12_3GB, objects: 740 });
    expect(e.costUsd).toBeCloseTo((bytes12_3GB / GiB) * 0.01 + 0.74 * 0.05 + 0.74 * 0.0004, 10);
    const big = estimateColdRestore({ storageClass: 'GLACIER', retrieval: 'Expedited', bytes: 500 * GiB, objects: 32_000 });
    expect(big.costUsd).toBeCloseTo(500 * 0.03 + 32 * 10 + 32 * 0.0004, 10);
    expect(big.costLines[1]).toBe('restore requests 32000 × $10.00/1000 = $320.00');
  });

  it('says what prices are and what they leave out', () => {
    const e = estimateColdRestore({ storageClass: 'GLACIER', retrieval: 'Bulk', bytes: GiB, objects: 64 });
    expect(e.notes.at(-1)).toBe(
      "cost: 2025 list prices, us-east-1; region and contract change them; data transfer out of AWS and the thawed copies' storage are not included",
    );
  });

  it('prints small sizes with enough digits to be read', () => {
    const e = estimateColdRestore({ storageClass: 'STANDARD_IA', retrieval: 'Standard', bytes: 5 * MiB, objects: 1 });
    expect(e.costLines[0]).toBe('retrieval 0.0049 GB × $0.01/GB = $0.0000');
  });
});

let seq = 0;
function drill(fields: Partial<DrillRecord> & { fetchMs?: number; writeMs?: number; bytes?: number } = {}): DrillRecord {
  const { fetchMs = 1000, writeMs = 1000, bytes = 20 * MiB, ...rest } = fields;
  seq++;
  return {
    id: `d${seq}`,
    runbook: 'app',
    snapshotId: 'abc',
    tier: 'hot',
    startedAt: new Date(Date.UTC(2026, 2, 1) + seq * H).toISOString(),
    verdict: 'met',
    rtoMs: fetchMs + writeMs + 500,
    targetMs: 15 * MIN,
    phases: [
      { name: 'plan', durationMs: 200 },
      { name: 'fetch', durationMs: fetchMs, bytes: Math.round(bytes * 0.6) },
      { name: 'write', durationMs: writeMs, bytes },
      { name: 'validate', durationMs: 300, bytes },
      { name: 'cleanup', durationMs: 10 },
    ],
    actor: { face: 'test', user: 'alice' },
    ...rest,
  };
}

describe('measuredThroughput', () => {
  it('is undefined without drills that restored something', () => {
    expect(measuredThroughput([])).toBeUndefined();
    expect(measuredThroughput([drill({ verdict: 'failed', rtoMs: undefined }), drill({ estimated: true, tier: 'cold' }), drill({ verdict: 'running' })])).toBeUndefined();
    expect(measuredThroughput([drill({ phases: [{ name: 'plan', durationMs: 5 }] })])).toBeUndefined();
  });

  it('is restored bytes over fetch+write time, the median of the last five drills', () => {
    // 20 MiB over fetch+write; the oldest (first, 1 MiB/s) drill falls out of the window.
    const drills = [drill({ writeMs: 19_000 }), drill(), drill({ writeMs: 3000 }), drill({ writeMs: 500 }), drill({ writeMs: 0 }), drill({ fetchMs: 3000 })];
    // Window (newest five): 10, 5, 13.3, 20, 5 MiB/s → median 10 MiB/s.
    expect(measuredThroughput(drills)).toBe(10 * MiB);
    expect(measuredThroughput([...drills].reverse())).toBe(10 * MiB);
  });

  it('averages the middle two of an even count', () => {
    expect(measuredThroughput([drill({ fetchMs: 1000, writeMs: 1000 }), drill({ fetchMs: 500, writeMs: 500 })])).toBe(15 * MiB);
  });

  it('ignores estimated and failed drills, counts missed ones (they restored for real)', () => {
    const drills = [
      drill({ writeMs: 1000 }),
      drill({ verdict: 'missed', writeMs: 1000 }),
      drill({ verdict: 'failed', rtoMs: undefined, writeMs: 1 }),
      drill({ tier: 'cold', estimated: true, writeMs: 1 }),
      drill({ tier: 'cold', estimated: true, fetchMs: 1, writeMs: 1 }),
    ];
    expect(measuredThroughput(drills)).toBe(10 * MiB);
  });

  it('prefers drills of the cold tier, which crossed the network a cold restore will', () => {
    const drills = [drill({ fetchMs: 100, writeMs: 100 }), drill({ tier: 'cold', fetchMs: 3000, writeMs: 1000 }), drill({ fetchMs: 100, writeMs: 100 })];
    expect(measuredThroughput(drills)).toBe(5 * MiB);
  });

  it('skips drills whose phases carry no bytes or no time', () => {
    const noBytes = drill();
    noBytes.phases = noBytes.phases.map((p) => ({ name: p.name, durationMs: p.durationMs }));
    expect(measuredThroughput([noBytes, drill({ fetchMs: 0, writeMs: 0 }), drill({ writeMs: 3000 })])).toBe(5 * MiB);
  });
});
