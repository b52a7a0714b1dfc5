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

/**
 * The gear loop as WebAssembly, hand-assembled (no toolchain needed): the
 * same arithmetic as the JS loop in `cut` (32-bit wrap-around, same masks,
 * same positions), ~3× faster (no bounds checks per byte: the engine's guard
 * pages do that). It works on bytes inside its own memory, so a caller that
 * reads into `Chunker.allocate`'s buffer gets it without a copy.
 *
 *   cut(i, normalEnd, limitEnd, hard, easy) -> index after the boundary byte, or -1
 *   memory: gear table (256 × i32) at 0, data from GEAR_BYTES on
 */
const GEAR_BYTES = 1024;

function gearLoopModule(): Uint8Array {
  const leb = (n: number): number[] => {
    const out: number[] = [];
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n) b |= 0x80;
      out.push(b);
    } while (n);
    return out;
  };
  const section = (id: number, bytes: number[]): number[] => [id, ...leb(bytes.length), ...bytes];
  const name = (s: string): number[] => [s.length, ...Buffer.from(s, 'ascii')];
  const [I, H] = [0, 5]; // param 0: i; local 5: h
  // while (i < end) { h = (h << 1) + gear[data[i]]; i++; if ((h & mask) == 0) return i }
  const loop = (end: number, mask: number): number[] => [
    0x02, 0x40, 0x03, 0x40, // block, loop
    0x20, I, 0x20, end, 0x4f, 0x0d, 1, // br_if (i >= end) out of the block
    0x20, H, 0x41, 1, 0x74, // h << 1
    0x20, I, 0x2d, 0, 0, 0x41, 2, 0x74, 0x28, 2, 0, // i32.load(load8_u(i) << 2)
    0x6a, 0x22, H, // add, tee h
    0x20, I, 0x41, 1, 0x6a, 0x21, I, // i++
    0x20, mask, 0x71, 0x45, 0x04, 0x40, 0x20, I, 0x0f, 0x0b, // if ((h & mask) == 0) return i
    0x0c, 0, // continue the loop
    0x0b, 0x0b, // end loop, end block
  ];
  const body = [1, 1, 0x7f, ...loop(1, 3), ...loop(2, 4), 0x41, 0x7f, 0x0b]; // one i32 local; ...; return -1
  const i32 = 0x7f;
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [1, 0x60, 5, i32, i32, i32, i32, i32, 1, i32]),
    ...section(2, [1, ...name('m'), ...name('mem'), 0x02, 0x00, 1]), // imports m.mem, at least one page
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('cut'), 0x00, 0]),
    ...section(10, [1, ...leb(body.length), ...body]),
  ]);
}

/** The few WebAssembly globals used here (the project's TypeScript libs do not declare them). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

let gearLoop: object | null | undefined;

interface WasmLoop {
  memory: WasmMemory;
  cut: (i: number, normalEnd: number, limitEnd: number, hard: number, easy: number) => number;
}

/** The loop over a new memory with room for `bytes` of data; undefined where WebAssembly is not available (e.g. --jitless). */
function wasmLoop(gear: Int32Array, bytes: number): WasmLoop | undefined {
  if (!wasmApi || gearLoop === null) return undefined;
  try {
    gearLoop ??= new wasmApi.Module(gearLoopModule());
    const pages = Math.ceil((GEAR_BYTES + bytes) / 65536);
    const memory = new wasmApi.Memory({ initial: pages, maximum: pages });
    new Int32Array(memory.buffer, 0, 256).set(gear);
    const instance = new wasmApi.Instance(gearLoop, { m: { mem: memory } });
    return { memory, cut: instance.exports.cut as WasmLoop['cut'] };
  } catch {
    gearLoop = null;
    return undefined;
  }
}

export class Chunker {
  private readonly gear: Int32Array;
  private readonly maskHard: number;
  private readonly maskEasy: number;
  /** Set by `allocate`: cut() runs the WebAssembly loop on data in this memory. */
  private wasm?: WasmLoop;

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
   * A buffer of `size` bytes for the data to cut (the worker's read buffer):
   * cut() finds boundaries in it with the WebAssembly loop, elsewhere with
   * the JS one (same boundaries). Where WebAssembly is not available, a plain
   * buffer. Pages never written cost no memory. One per chunker: a second
   * call replaces the first (whose cuts then take the JS loop).
   */
  allocate(size: number): Buffer {
    this.wasm = wasmLoop(this.gear, size);
    return this.wasm ? Buffer.from(this.wasm.memory.buffer, GEAR_BYTES, size) : Buffer.allocUnsafeSlow(size);
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
    const wasm = this.wasm;
    if (wasm && data.buffer === wasm.memory.buffer) {
      const base = data.byteOffset + start;
      const at = wasm.cut(base + minSize, base + normal, base + limit, this.maskHard, this.maskEasy);
      if (at !== -1) return at - base;
      return partial ? 0 : limit;
    }
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
