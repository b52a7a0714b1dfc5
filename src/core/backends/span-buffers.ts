/**
 * Reused buffers for the spans a restore downloads (pack-span-reads.ts: at
 * most 2 MiB each for remote packs). Each span used to be a fresh
 * `Buffer.allocUnsafeSlow`, transferred to a worker and freed there when the
 * worker collected it. After glibc's first free of such a buffer its mmap
 * threshold rises above 2 MiB, so every later span came from the main
 * thread's malloc heap, between the ~16 KiB TLS records and HTTP body copies
 * allocated there too: freed holes were cut up by the small allocations and
 * the heap kept growing (smaps of the mixed restore from S3: the main
 * thread's heap at 60-75 MiB, of which ~33 MiB went away with these buffers
 * mmapped; docs/performance.md, seventh stop).
 *
 * A span buffer is handed out as a view of its first `length` bytes, and it
 * comes back only by transfer: the worker that restored the span sends its
 * ArrayBuffer back with its answer (worker-pool.ts), which detaches every
 * view of it in the worker, and no view of it was left on this thread (the
 * transfer to the worker detached those). So a buffer taken from here is
 * never seen by two owners at once.
 */

/** The size of every span buffer: the remote span maximum (remoteSpanMax). */
export const SPAN_BUFFER_BYTES = 2 * 1024 * 1024;

/** Free buffers kept for reuse: more than a restore has in flight (2 per worker + 1, plus one per request). */
const KEEP = 12;

const free: ArrayBuffer[] = [];
/** Span buffers allocated so far (not reused ones). */
let made = 0;
/** Every buffer handed out by spanBuffer, so only those are transferred whole (never a shared pool's slab). */
const issued = new WeakSet<ArrayBuffer>();

/**
 * A buffer for `length` bytes of a span: for lengths from half a span buffer
 * up to one, a view of a reused span buffer; otherwise a buffer of its own
 * (small ranges such as folder listings would each hold 2 MiB).
 */
export function spanBuffer(length: number): Buffer {
  if (length < SPAN_BUFFER_BYTES / 2 || length > SPAN_BUFFER_BYTES) return Buffer.allocUnsafeSlow(length);
  let ab = free.pop();
  if (ab === undefined) {
    ab = Buffer.allocUnsafeSlow(SPAN_BUFFER_BYTES).buffer as ArrayBuffer;
    made++;
    issued.add(ab);
  }
  return Buffer.from(ab, 0, length);
}

/** The span buffer `data` is a view of (from its first byte), or undefined for any other buffer. */
export function spanBufferOf(data: Buffer): ArrayBuffer | undefined {
  const ab = data.buffer;
  return data.byteOffset === 0 && ab instanceof ArrayBuffer && issued.has(ab) ? ab : undefined;
}

/**
 * `ab`, a span buffer that came back transferred from the worker that used
 * it, may be handed out again. Anything else (a detached or foreign buffer)
 * is left to the garbage collector.
 */
export function reuseSpanBuffer(ab: ArrayBuffer): void {
  if (ab.byteLength === SPAN_BUFFER_BYTES && free.length < KEEP) {
    issued.add(ab);
    free.push(ab);
  }
}

/** Span buffers allocated so far, and how many wait for reuse (tests, diagnostics). */
export function spanBufferCounts(): { made: number; free: number } {
  return { made, free: free.length };
}
