import { LifeboatError } from '../errors.js';
import { maxLoadBytes, type Backend, type FileKind, type Handle, type ObjectInfo, type SaveOptions } from './backend.js';
import { checkRange, checkedObjectPath, rangeError, tooLargeError } from './object-name.js';

/**
 * A repository in process memory, for tests. It keeps the Backend contract
 * byte for byte: buffers are copied in and out, so neither the caller of `save`
 * nor the receiver of `load` can change what is stored.
 */
export class MemoryBackend implements Backend {
  readonly location: string;
  /** By object path (`data/ab/abcd…`), so the layout matches the other backends. */
  private readonly objects = new Map<string, { kind: FileKind; name: string; data: Buffer; modified: Date }>();

  constructor(name = 'memory') {
    this.location = `memory:${name}`;
  }

  // Methods are async (not sync returning a promise) so a bad name rejects instead of throwing.
  async save(handle: Handle, data: Uint8Array, _options?: SaveOptions): Promise<void> {
    const path = checkedObjectPath(handle);
    this.objects.set(path, { kind: handle.kind, name: handle.name, data: copy(data), modified: new Date() });
  }

  async load(handle: Handle, range?: { offset: number; length: number }): Promise<Buffer> {
    const path = checkedObjectPath(handle);
    const where = `${this.location}/${path}`;
    if (range !== undefined) checkRange(range, where);
    const object = this.objects.get(path);
    if (object === undefined) throw notFound('load', where);
    const { data } = object;
    if (range === undefined) {
      if (data.length > maxLoadBytes[handle.kind]) throw tooLargeError(where, handle.kind, data.length, maxLoadBytes[handle.kind]);
      return copy(data);
    }
    if (range.offset + range.length > data.length) throw rangeError(where, range, data.length);
    return copy(data.subarray(range.offset, range.offset + range.length));
  }

  async stat(handle: Handle): Promise<ObjectInfo> {
    const path = checkedObjectPath(handle);
    const object = this.objects.get(path);
    if (object === undefined) throw notFound('stat', `${this.location}/${path}`);
    return { name: handle.name, size: object.data.length };
  }

  async *list(kind: FileKind): AsyncGenerator<ObjectInfo> {
    // A snapshot taken up front: saves and removes during the listing do not disturb it.
    const matching = [...this.objects.values()].filter((o) => o.kind === kind);
    for (const object of matching) {
      yield { name: object.name, size: object.data.length, modified: object.modified };
      await Promise.resolve();
    }
  }

  async remove(handle: Handle): Promise<void> {
    this.objects.delete(checkedObjectPath(handle));
  }

  async create(): Promise<void> {
    // Nothing to create: the map is the container.
  }

  async exists(): Promise<boolean> {
    return this.objects.has('config');
  }

  async close(): Promise<void> {
    // Stored objects outlive close(), as files outlive a closed LocalBackend.
  }

  /** Total stored bytes, for tests that check what a run wrote. */
  get storedBytes(): number {
    let total = 0;
    for (const object of this.objects.values()) total += object.data.length;
    return total;
  }
}

const shared = new Map<string, MemoryBackend>();

/**
 * The process-wide memory backend called `name` (what `memory:NAME` URLs open),
 * so a test and the command it runs see the same repository.
 */
export function sharedMemoryBackend(name: string): MemoryBackend {
  let backend = shared.get(name);
  if (backend === undefined) {
    backend = new MemoryBackend(name);
    shared.set(name, backend);
  }
  return backend;
}

/** Forgets a shared memory backend (or all of them), so the next open starts empty. */
export function dropSharedMemoryBackend(name?: string): void {
  if (name === undefined) shared.clear();
  else shared.delete(name);
}

/** A copy that owns its ArrayBuffer (safe to transfer to a worker). */
function copy(data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafeSlow(data.length);
  out.set(data);
  return out;
}

function notFound(op: string, where: string): LifeboatError {
  return new LifeboatError('BACKEND_NOT_FOUND', `${op} ${where}: not found`, { details: { op, path: where } });
}
