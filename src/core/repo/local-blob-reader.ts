/**
 * Reads a local repository's blobs synchronously, straight from their pack
 * files: the parent snapshot's folder listings (tree blobs) for the backup
 * walk (src/core/pipeline/discover.ts), every listing for check's walk, and
 * file contents for dump. Through the backend each blob cost four round trips
 * through the libuv pool (open, fstat, read, close), one after another: on a
 * tree of 50,000 small files in 4,800 folders the walk spent more time waiting
 * for them than working. Here it is one pread from an already open pack file.
 *
 * Only for a backend that offers its objects as plain local files
 * (Backend.localFile: never through a wrapper, which must see every read).
 * The blob is checked exactly as Repository.loadBlob checks it (openBlob:
 * authentication, length, content id); anything unexpected — not indexed,
 * a short read, a failed check — answers undefined and the caller reads
 * through the backend as before, which reports the problem.
 */
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { localFileOf } from '../backends/backend.js';
import type { BlobType } from './format.js';
import { openBlob } from './pack.js';
import type { Repository } from './repository.js';
import { decodeTree, type Tree } from './tree.js';

/** Pack files kept open at once; a backup's trees sit in a few packs, so this is rarely reached. */
const MAX_OPEN = 32;

export class LocalBlobReader {
  private readonly fds = new Map<string, number>();

  private constructor(private readonly repo: Repository) {}

  /** A reader for `repo`, or undefined when its backend offers no local files. */
  static for(repo: Repository): LocalBlobReader | undefined {
    return repo.backend.localFile === undefined ? undefined : new LocalBlobReader(repo);
  }

  /** The listing `id`, read and checked; undefined when it cannot be read this way. */
  tree(id: string): Tree | undefined {
    const plain = this.blob(id, 'tree');
    if (plain === undefined) return undefined;
    try {
      return decodeTree(plain, id);
    } catch {
      return undefined;
    }
  }

  /**
   * Blob `id`'s plaintext (of `type` when given), read and checked as
   * Repository.loadBlob checks it; undefined when it cannot be read this way.
   * `dump` reads file contents through it (one pread per blob, not four libuv
   * round trips): a blob is at most the chunker's largest chunk.
   */
  blob(id: string, type?: BlobType): Buffer | undefined {
    const loc = this.repo.index.lookup(id);
    if (!loc || (type !== undefined && loc.type !== type)) return undefined;
    try {
      const fd = this.fdFor(loc.pack);
      if (fd === undefined) return undefined;
      const sealed = Buffer.allocUnsafe(loc.length);
      let done = 0;
      while (done < loc.length) {
        const n = readSync(fd, sealed, done, loc.length - done, loc.offset + done);
        if (n === 0) return undefined;
        done += n;
      }
      const plain = openBlob(this.repo.key, loc, sealed);
      return typeof plain === 'string' ? undefined : plain;
    } catch {
      return undefined;
    }
  }

  private fdFor(pack: string): number | undefined {
    const known = this.fds.get(pack);
    if (known !== undefined) return known;
    const path = localFileOf(this.repo.backend, { kind: 'data', name: pack });
    if (path === undefined) return undefined;
    if (this.fds.size >= MAX_OPEN) this.close();
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    this.fds.set(pack, fd);
    return fd;
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}
