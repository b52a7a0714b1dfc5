/**
 * The verify stage: every pack this run wrote is where it should be with the
 * right size, and a rotating slice of all packs is read back and verified, so
 * that with `verify.readData: P%` every pack is read within ceil(100/P) runs.
 */
import { LifeboatError } from '../errors.js';
import { readAndVerifyPacks, rotatingSlice } from '../repo/checker.js';
import { verifyPackBytes } from '../repo/verify-pack.js';
import { mapLimit, type Repository } from '../repo/repository.js';
import { defaultWorkerCount } from '../repo/worker-pool.js';
import type { VerifyPackResult } from '../repo/worker-protocol.js';

export interface VerifyStageResult {
  packsWritten: number;
  packsStatted: number;
  packsRead: number;
  bytesRead: number;
  /** A pack of this run read back besides the slice (0 when the slice already had it). */
  samplePacksRead: number;
  sampleBytesRead: number;
  slice: number;
  slices: number;
  problems: string[];
}

/**
 * Packs statted at once. Each is a HEAD on S3 (~20-50 ms of latency there, a few ms on loopback) and a
 * run writes one per ~17 MiB stored: one after another they were the stage's wall time, at the end of
 * every backup (36 in a row after the bench's 920 MB backup to s3rver). Same checks, same order of
 * problems; only the waiting overlaps.
 */
const STAT_CONCURRENCY = 16;

export async function verifyRun(repo: Repository, options: { readDataFraction: number; runNumber: number; signal?: AbortSignal }): Promise<VerifyStageResult> {
  const sized = await mapLimit(repo.written, STAT_CONCURRENCY, async (pack) => {
    try {
      const info = await repo.backend.stat({ kind: 'data', name: pack.id });
      return info.size === pack.size ? undefined : `pack ${pack.id.slice(0, 12)} has ${info.size} bytes in the repository, ${pack.size} were written`;
    } catch (e) {
      return `pack ${pack.id.slice(0, 12)} written by this run is missing: ${(e as Error).message}`;
    }
  });
  const problems = sized.filter((problem): problem is string => problem !== undefined);
  let read = { packs: [] as string[], slice: 0, of: 1 };
  let bytesRead = 0;
  if (options.readDataFraction > 0) read = rotatingSlice([...repo.index.packs.keys()].sort(), options.readDataFraction, options.runNumber);
  // Whatever the policy, one pack this run wrote is read back (counted apart from the
  // slice): proof the destination returns what it confirmed.
  const last = repo.written.at(-1)?.id;
  const sample = last !== undefined && !read.packs.includes(last) ? [last] : [];
  let sampleBytes = 0;
  const toRead = [...read.packs, ...sample];
  if (toRead.length > 0) {
    // The usual run reads back only the sample: on this thread, which has nothing else to do
    // now, instead of starting a worker thread for it (~0.1 s of CPU, and as much wall time).
    const results =
      read.packs.length === 0 && sample.length === 1
        ? [await verifyPackHere(repo, sample[0]!, (bytes) => (sampleBytes += bytes))]
        : await readAndVerifyPacks(repo, toRead, {
            // A worker per pack at most: a second worker thread would cost ~0.2 s of CPU to start for nothing.
            workers: Math.min(defaultWorkerCount(), toRead.length),
            signal: options.signal,
            onPack: (pack, bytes) => {
              if (sample.includes(pack)) sampleBytes += bytes;
              else bytesRead += bytes;
            },
          });
    for (const r of results) {
      if (!r.hashOk) problems.push(`pack ${r.pack.slice(0, 12)}: content does not match its name`);
      if (r.headerError) problems.push(`pack ${r.pack.slice(0, 12)}: ${r.headerError}`);
      for (const d of r.damaged) problems.push(`pack ${r.pack.slice(0, 12)}: blob ${d.id.slice(0, 12)} ${d.error}`);
    }
  }
  if (options.signal?.aborted) throw new LifeboatError('CANCELLED', 'verification cancelled');
  return {
    packsWritten: repo.written.length,
    packsStatted: repo.written.length,
    packsRead: read.packs.length,
    samplePacksRead: sample.length,
    sampleBytesRead: sampleBytes,
    bytesRead,
    slice: read.slice,
    slices: read.of,
    problems,
  };
}

/** One pack read through the backend (every wrapper sees the read) and verified on this thread as a worker would (verify-pack.ts). */
async function verifyPackHere(repo: Repository, pack: string, onBytes: (bytes: number) => void): Promise<VerifyPackResult> {
  const indexed = repo.index.packs.get(pack);
  // Never more than the index says the pack holds (a hostile store could send an endless body).
  const data = await repo.backend.load({ kind: 'data', name: pack }, indexed === undefined ? undefined : { offset: 0, length: indexed.size });
  onBytes(data.length);
  return verifyPackBytes(repo.key, pack, data, { legacy: indexed?.legacy });
}
