/**
 * A set of blob ids shared by the main thread and the backup workers through a
 * SharedArrayBuffer, so that two workers meeting the same new content store it
 * once. `claim` is atomic: exactly one caller gets `true` for a given id.
 *
 * Keys are the first 128 bits of the id with the lowest bit forced to 1 (a
 * 127-bit key: a false match needs ~2^63 blobs). Open addressing with linear
 * probing; a slot's first word is the publication flag: 0 empty, BUSY while its
 * other words are written, the key's first word once readable.
 *
 * When the table is more than 3/4 full, `claim` answers `true` for unknown ids
 * without inserting: such blobs may then be stored twice, which costs space,
 * never correctness.
 */

const BUSY = 2; // even, so it never equals a key's first word (always odd)

export class SharedBlobSet {
  readonly words: Int32Array;
  private readonly mask: number;
  private readonly countIndex: number;
  private readonly maxCount: number;

  /** `buffer` from `SharedBlobSet.allocate` or from another thread's `.words.buffer`. */
  constructor(buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
    const slots = (this.words.length - 1) / 4;
    this.mask = slots - 1;
    this.countIndex = this.words.length - 1;
    this.maxCount = Math.floor(slots * 0.75);
  }

  static allocate(expected: number): SharedBlobSet {
    let slots = 1 << 16;
    while (slots < expected * 2) slots *= 2;
    return new SharedBlobSet(new SharedArrayBuffer((slots * 4 + 1) * 4));
  }

  get size(): number {
    return Atomics.load(this.words, this.countIndex);
  }

  /** Insert `id` (hex or 32 bytes); true when this call inserted it (the caller must store the blob). */
  claim(id: string | Uint8Array): boolean {
    return this.probe(id, true);
  }

  has(id: string | Uint8Array): boolean {
    return !this.probe(id, false);
  }

  /** Returns true when the id was absent (and, when `insert`, is now claimed by this caller). */
  private probe(id: string | Uint8Array, insert: boolean): boolean {
    let k0: number;
    let k1: number;
    let k2: number;
    let k3: number;
    const words = typeof id === 'string' ? hexWords(id) : undefined;
    if (words) {
      [k0, k1, k2, k3] = [words[0]! | 1, words[1]!, words[2]!, words[3]!];
    } else {
      const bytes = typeof id === 'string' ? Buffer.from(id.slice(0, 32), 'hex') : id;
      const dv = new DataView(bytes.buffer, bytes.byteOffset, 16);
      k0 = dv.getInt32(0, true) | 1;
      k1 = dv.getInt32(4, true);
      k2 = dv.getInt32(8, true);
      k3 = dv.getInt32(12, true);
    }
    const w = this.words;
    let slot = (k1 ^ (k2 >>> 7)) & this.mask;
    for (let probes = 0; probes <= this.mask; probes++, slot = (slot + 1) & this.mask) {
      const at = slot * 4;
      let first = Atomics.load(w, at);
      if (first === 0) {
        if (!insert) return true;
        if (Atomics.load(w, this.countIndex) >= this.maxCount) return true;
        if (Atomics.compareExchange(w, at, 0, BUSY) === 0) {
          Atomics.store(w, at + 1, k1);
          Atomics.store(w, at + 2, k2);
          Atomics.store(w, at + 3, k3);
          Atomics.store(w, at, k0);
          Atomics.add(w, this.countIndex, 1);
          return true;
        }
        first = Atomics.load(w, at);
      }
      while (first === BUSY) first = Atomics.load(w, at); // another thread is writing 3 words: nanoseconds
      if (first === k0 && Atomics.load(w, at + 1) === k1 && Atomics.load(w, at + 2) === k2 && Atomics.load(w, at + 3) === k3) {
        return false;
      }
    }
    return true;
  }
}

/** Nibble of each ASCII hex digit; 16 for anything else. */
const NIBBLE = new Uint8Array(128).fill(16);
for (let c = 0; c < 16; c++) {
  NIBBLE['0123456789abcdef'.charCodeAt(c)] = c;
  NIBBLE['0123456789ABCDEF'.charCodeAt(c)] = c;
}
const keyWords = new Int32Array(4);

/**
 * The first 16 bytes of a hex id as four little-endian words (what the
 * DataView reads from the decoded bytes), without a Buffer per id: filling
 * the set from the index (20k+ ids) cost ~55 ms that way. Undefined when the
 * string is not 32+ hex digits (the caller then decodes it the general way).
 */
function hexWords(id: string): Int32Array | undefined {
  if (id.length < 32) return undefined;
  let bad = 0;
  for (let word = 0; word < 4; word++) {
    let value = 0;
    for (let b = 0; b < 4; b++) {
      const at = word * 8 + b * 2;
      const hi = NIBBLE[id.charCodeAt(at)] ?? 16;
      const lo = NIBBLE[id.charCodeAt(at + 1)] ?? 16;
      bad |= hi | lo;
      value |= ((hi << 4) | lo) << (b * 8);
    }
    keyWords[word] = value;
  }
  return bad & 16 ? undefined : keyWords;
}
