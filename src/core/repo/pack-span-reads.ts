/**
 * How a restore fetches the spans of packs that are not local files. The
 * restore cuts a pack's blobs into spans for its workers (restore-writer.ts;
 * 8 MiB then, 2 MiB now for remote packs: remoteSpanMax) and used to load
 * each span with a request of its own:
 * s3rver answered 255 ranged GETs for a full restore of the mixed dataset,
 * restic's 34 (one per pack), each one a request to parse, sign and answer and
 * a TLS stream to set up, on a store sharing our two cores.
 *
 * Where the backend reads several ranges of an object in one request
 * (Backend.loadRanges: S3), the spans of a pack that lie closer than `gap` are
 * one request, started when the first of them is asked for; each span's bytes
 * are handed to whoever asked for it as soon as they have arrived. A request
 * reads a span only once it is asked for, and waits before it otherwise (the
 * socket's flow control holds the rest), so the restore holds no more than
 * the spans its loop has asked for. Elsewhere a span is a `load` of its own,
 * as before.
 */
import { LifeboatError } from '../errors.js';
import type { Backend, ByteRange } from '../backends/backend.js';
import { mainThreadReceivedBytes } from './release-memory.js';

export interface PackSpan {
  pack: string;
  offset: number;
  length: number;
}

/**
 * The span size for packs read through such a backend, or undefined where
 * spans are loads of their own (or read by the workers from local files).
 * Requests no longer grow with it, so spans are cut for memory alone: the
 * restore holds ~5 spans (fetched or with a worker), and at 8 MiB they were
 * ~65 MB of a 330 MB peak; at 2 MiB the mixed restore from S3 peaked at
 * 262 MB, CPU unchanged.
 */
export function remoteSpanMax(backend: Backend): number | undefined {
  return backend.loadRanges === undefined ? undefined : 2 * 1024 * 1024;
}

/** One request: spans of one pack, in offset order, and what became of each. */
interface Request {
  pack: string;
  spans: PackSpan[];
  started: boolean;
  /** Per span: whoever asked and waits. */
  waiting: ({ resolve: (b: Buffer) => void; reject: (e: unknown) => void } | undefined)[];
  /** Spans handed over or failed so far (they come in order). */
  done: number;
  /** Wakes the request when a span is asked for (it waits when it ran ahead). */
  wake?: () => void;
  error?: unknown;
}

export class PackSpanReader {
  private readonly requests = new Map<PackSpan, { request: Request; index: number }>();
  private closed = false;

  /** `spans`: all the restore will ask for, in pack and offset order (as spansOf makes them). */
  constructor(
    private readonly backend: Backend,
    spans: readonly PackSpan[],
    gap: number,
  ) {
    if (backend.loadRanges === undefined) return;
    let current: Request | undefined;
    for (const span of spans) {
      const last = current?.spans[current.spans.length - 1];
      const end = last === undefined ? 0 : last.offset + last.length;
      if (current === undefined || last === undefined || last.pack !== span.pack || span.offset < end || span.offset - end > gap) {
        current = { pack: span.pack, spans: [], started: false, waiting: [], done: 0 };
      }
      this.requests.set(span, { request: current, index: current.spans.length });
      current.spans.push(span);
    }
  }

  /** The span's bytes, in a buffer of their own. A failed request fails every span it had not handed over. */
  load(span: PackSpan): Promise<Buffer> {
    const entry = this.requests.get(span);
    const handle = { kind: 'data' as const, name: span.pack };
    if (entry === undefined || this.closed) return this.backend.load(handle, { offset: span.offset, length: span.length });
    const { request, index } = entry;
    if (index < request.done || request.waiting[index] !== undefined) {
      return Promise.reject(request.error ?? new LifeboatError('INTERNAL', `span ${span.offset}+${span.length} of pack ${span.pack.slice(0, 12)} was asked for twice`));
    }
    const bytes = new Promise<Buffer>((resolve, reject) => (request.waiting[index] = { resolve, reject }));
    if (request.started) request.wake?.();
    else this.start(request);
    return bytes;
  }

  /** Ends requests still waiting for spans nobody will ask for now (a cancelled or failed restore). */
  close(): void {
    this.closed = true;
    const stop = new LifeboatError('CANCELLED', 'restore ended');
    for (const { request } of this.requests.values()) {
      request.error ??= stop;
      request.wake?.();
    }
  }

  private start(request: Request): void {
    request.started = true;
    const ranges: ByteRange[] = request.spans.map(({ offset, length }) => ({ offset, length }));
    /** Until span `index` is asked for (or the reader closes). */
    const askedFor = async (index: number): Promise<void> => {
      while (request.waiting[index] === undefined) {
        if (request.error !== undefined) throw request.error;
        await new Promise<void>((resolve) => (request.wake = resolve));
        request.wake = undefined;
      }
      if (request.error !== undefined) throw request.error;
    };
    const onRange = async (index: number, bytes: Buffer): Promise<void> => {
      await askedFor(index);
      const waiter = request.waiting[index]!;
      request.waiting[index] = undefined;
      request.done = index + 1;
      waiter.resolve(bytes);
      // The records this span came in are garbage now; collect them before they pile up.
      mainThreadReceivedBytes(bytes.length);
      // Read on only once the next span is asked for: until then its bytes wait in the socket, not
      // in a span buffer here (the loop asks spans well before a worker needs them).
      if (index + 1 < request.spans.length) await askedFor(index + 1);
    };
    this.backend.loadRanges!({ kind: 'data', name: request.pack }, ranges, onRange).then(
      () => undefined,
      (error: unknown) => {
        request.error ??= error;
        for (let i = request.done; i < request.spans.length; i++) request.waiting[i]?.reject(error);
        request.waiting = [];
        request.done = request.spans.length;
      },
    );
  }
}
