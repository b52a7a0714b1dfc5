// Writes a buffer to a file descriptor in pieces of at most 128 KiB.
//
// Why pieces: a write() of a large buffer lets the kernel put it in large
// page-cache folios (up to 2 MiB for a 2 MiB write at an aligned offset), and
// a large folio needs a high-order block of free memory. On a virtual machine
// whose balloon reports free memory to its host (virtio free page reporting,
// order ≥ 9 on this Firecracker guest), the high-order free blocks
// are exactly the ones handed back to the host, so filling such a folio makes
// the host fault its memory in again: writing 1 GB in 2 MiB writes took 1.6–2.8 s
// of system time on this machine, in 64–256 KiB writes 0.21–0.26 s (dd after
// dropping the caches), and a restore of the bench's mixed dataset went from
// 2.27–2.61 s to 1.90–2.09 s (docs/performance.md, thirteenth stop). Smaller
// writes take smaller folios from the free memory the guest recycles. On a
// host without a balloon the cost is one system call per piece: ~7,000 more for
// a GB, a few milliseconds.
import { writeSync } from 'node:fs';

export const WRITE_PIECE_BYTES = 128 * 1024;

/**
 * Writes all of `data` at `position` (or at the file's offset when omitted),
 * in pieces of at most WRITE_PIECE_BYTES; a short write continues where it
 * stopped, and an error is thrown as writeSync throws it.
 */
export function writeAllInPieces(fd: number, data: Uint8Array, position?: number): void {
  let done = 0;
  while (done < data.length) {
    const length = Math.min(WRITE_PIECE_BYTES, data.length - done);
    done += position === undefined ? writeSync(fd, data, done, length) : writeSync(fd, data, done, length, position + done);
  }
}
