/**
 * writeAllInPieces (write-in-pieces.ts) writes a buffer in pieces of at most
 * 128 KiB so the page cache takes small folios (a VM's balloon reports the
 * high-order free blocks to its host): the file must hold exactly the bytes,
 * at the position asked or at the file's offset, for lengths on and around the
 * piece boundaries, and the pieces must be separate write calls — counted
 * with this thread's own write-call counter in /proc/thread-self/io.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WRITE_PIECE_BYTES, writeAllInPieces } from '../../../src/core/repo/write-in-pieces.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-pieces-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function writeCalls(): number {
  const line = readFileSync('/proc/thread-self/io', 'utf8').split('\n').find((l) => l.startsWith('syscw:'));
  return Number(line!.split(/\s+/)[1]);
}

const PIECE = WRITE_PIECE_BYTES;

describe('writeAllInPieces', () => {
  it.each([0, 1, PIECE - 1, PIECE, PIECE + 1, 3 * PIECE + 17, 2 * 1024 * 1024 + 5])('writes %i bytes at a position, in pieces', (n) => {
    const path = join(dir, `at-${n}`);
    const data = randomBytes(n);
    const fd = openSync(path, 'w');
    let calls: number;
    try {
      writeSync(fd, Buffer.from('head'));
      const before = writeCalls();
      writeAllInPieces(fd, data, 10);
      calls = writeCalls() - before;
    } finally {
      closeSync(fd);
    }
    const file = readFileSync(path);
    expect(file.length).toBe(n === 0 ? 4 : 10 + n);
    expect(file.subarray(0, 4).toString()).toBe('head');
    if (n > 0) {
      expect(file.subarray(4, 10).equals(Buffer.alloc(6))).toBe(true);
      expect(file.subarray(10).equals(data)).toBe(true);
    }
    expect(calls).toBe(Math.ceil(n / PIECE));
  });

  it("appends at the file's offset when no position is given", () => {
    const path = join(dir, 'append');
    const first = randomBytes(PIECE + 3);
    const second = randomBytes(2 * PIECE + 1);
    const fd = openSync(path, 'w');
    try {
      writeAllInPieces(fd, first);
      writeAllInPieces(fd, second);
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(path).equals(Buffer.concat([first, second]))).toBe(true);
  });

  it('throws what the write throws (a closed descriptor)', () => {
    const fd = openSync(join(dir, 'closed'), 'w');
    closeSync(fd);
    expect(() => writeAllInPieces(fd, randomBytes(10), 0)).toThrow(/EBADF/);
  });
});
