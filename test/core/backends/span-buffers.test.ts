/**
 * Span buffers (src/core/backends/span-buffers.ts): span-sized downloads go
 * into reused 2 MiB buffers, handed out as a view of their first bytes; only
 * those are recognised for a whole-buffer transfer, and only what comes back
 * at their size is reused.
 */
import { describe, expect, it } from 'vitest';
import { SPAN_BUFFER_BYTES, reuseSpanBuffer, spanBuffer, spanBufferCounts, spanBufferOf } from '../../../src/core/backends/span-buffers.js';

const MiB = 1024 * 1024;

describe('span buffers', () => {
  it('gives span-sized lengths a view of a span buffer and other lengths a buffer of their own', () => {
    for (const length of [MiB, MiB + 7, SPAN_BUFFER_BYTES]) {
      const b = spanBuffer(length);
      expect(b.length).toBe(length);
      expect(b.byteOffset).toBe(0);
      expect(b.buffer.byteLength).toBe(SPAN_BUFFER_BYTES);
      expect(spanBufferOf(b)).toBe(b.buffer);
      // A view of it from elsewhere than its first byte is not the span buffer's owner.
      expect(spanBufferOf(b.subarray(1))).toBeUndefined();
    }
    for (const length of [1, 4096, MiB / 2 - 1, SPAN_BUFFER_BYTES + 1]) {
      const b = spanBuffer(length);
      expect(b.length).toBe(length);
      expect(b.buffer.byteLength).toBe(length);
      expect(spanBufferOf(b)).toBeUndefined();
    }
    // Buffers that were not handed out here, even of the same size, are never taken for one.
    expect(spanBufferOf(Buffer.allocUnsafeSlow(SPAN_BUFFER_BYTES))).toBeUndefined();
    expect(spanBufferOf(Buffer.allocUnsafe(64))).toBeUndefined();
  });

  it('hands a buffer given back out again, and no other size', () => {
    const first = spanBuffer(MiB);
    const ab = first.buffer as ArrayBuffer;
    const before = spanBufferCounts();
    reuseSpanBuffer(ab);
    expect(spanBufferCounts().free).toBe(before.free + 1);
    const again = spanBuffer(MiB + 3);
    expect(again.buffer).toBe(ab);
    expect(spanBufferCounts().made).toBe(before.made);
    reuseSpanBuffer(new ArrayBuffer(MiB));
    expect(spanBufferCounts().free).toBe(before.free);
  });
});
