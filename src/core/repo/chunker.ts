/**
 * Content-defined chunking: a FastCDC-style gear hash with normalized chunking.
 * Boundaries depend only on content (so an insertion in a large file moves only
 * the chunks around it) and on a per-repository secret gear table (so chunk
 * sizes reveal nothing about content to someone without the key).
 *
 * The hash is 32-bit: `h = (h << 1) + gear[byte]`, so it depends on the last 32
 * bytes only, and the mask bits sit at the top where all 32 bytes count.
 * Normalization level 2: a harder mask (log2(avg)+2 bits) before the average
 * size, an easier one (log2(avg)-2 bits) after, which narrows the size spread.
 */
import { createHash } from 'node:crypto';

export interface ChunkerParams {
  minSize: number;
  avgSize: number;
  maxSize: number;
}

/** 256 signed 32-bit gear values derived from the repository's chunker seed. */
export function gearTable(seed: Uint8Array): Int32Array {
  const table = new Int32Array(256);
  for (let block = 0; block < 32; block++) {
    const digest = createHash('sha256').update(seed).update(Buffer.from([block])).digest();
    for (let j = 0; j < 8; j++) table[block * 8 + j] = digest.readInt32LE(j * 4);
  }
  return table;
}

function topMask(bits: number): number {
  return bits >= 32 ? -1 : (~((1 << (32 - bits)) - 1)) | 0;
}

export class Chunker {
  private readonly gear: Int32Array;
  private readonly maskHard: number;
  private readonly maskEasy: number;

  constructor(
    seed: Uint8Array,
    readonly params: ChunkerParams,
  ) {
    this.gear = gearTable(seed);
    const avgBits = Math.round(Math.log2(params.avgSize));
    this.maskHard = topMask(avgBits + 2);
    this.maskEasy = topMask(avgBits - 2);
  }

  /**
   * Length of the next chunk of `data[start, start+available)`, or 0 when
   * more input is needed to decide. Offered fewer than `maxSize` bytes and
   * not `final`, it returns a boundary only when one lies inside the bytes it
   * has (the very boundary a longer offer would give: the hash looks back 32
   * bytes and the masks depend on the position only), else 0. So a caller can
   * offer a little more than an average chunk and read on only for the rare
   * long one, instead of holding (and shifting) a max-size window throughout.
   */
  cut(data: Uint8Array, start: number, available: number, final: boolean): number {
    const { minSize, avgSize, maxSize } = this.params;
    if (available <= minSize) return final ? available : 0;
    const partial = !final && available < maxSize;
    const limit = available < maxSize ? available : maxSize;
    const normal = avgSize < limit ? avgSize : limit;
    const gear = this.gear;
    const hard = this.maskHard;
    const easy = this.maskEasy;
    let h = 0;
    let i = start + minSize;
    const normalEnd = start + normal;
    const limitEnd = start + limit;
    for (; i < normalEnd; i++) {
      h = ((h << 1) + gear[data[i]!]!) | 0;
      if ((h & hard) === 0) return i + 1 - start;
    }
    for (; i < limitEnd; i++) {
      h = ((h << 1) + gear[data[i]!]!) | 0;
      if ((h & easy) === 0) return i + 1 - start;
    }
    return partial ? 0 : limit;
  }
}
