import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DELETION_WINDOW_MS, deleteNoted, deletionWindowLeftMs, trashBeside } from '../../bench/discard.js';

describe('bench: deletions noted so the next run can wait them out', () => {
  let root: string;
  let work: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeboat-discard-'));
    work = path.join(root, 'work');
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const tree = (name: string, files: number): string => {
    const dir = path.join(root, name);
    fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
    for (let i = 0; i < files; i++) fs.writeFileSync(path.join(dir, 'sub', `f${i}`), '');
    return dir;
  };

  it('a large deletion opens the window, a small one or none does not', () => {
    expect(deletionWindowLeftMs(work)).toBe(0);
    const small = tree('small', 10);
    deleteNoted(work, small);
    expect(fs.existsSync(small)).toBe(false);
    expect(deletionWindowLeftMs(work)).toBe(0);
    deleteNoted(work, path.join(root, 'absent'));
    expect(deletionWindowLeftMs(work)).toBe(0);

    const before = Date.now();
    const large = tree('large', 1200);
    deleteNoted(work, large);
    expect(fs.existsSync(large)).toBe(false);
    const left = deletionWindowLeftMs(work);
    expect(left).toBeGreaterThan(DELETION_WINDOW_MS - (Date.now() - before) - 1);
    expect(left).toBeLessThanOrEqual(DELETION_WINDOW_MS);
    // Measured later, less is left, and none once the window has passed.
    expect(deletionWindowLeftMs(work, Date.now() + 60_000)).toBeLessThanOrEqual(left - 60_000 + 1);
    expect(deletionWindowLeftMs(work, Date.now() + DELETION_WINDOW_MS + 1)).toBe(0);
  });

  it('emptying a large trash is noted; a damaged note opens no window', () => {
    fs.mkdirSync(work);
    const trash = trashBeside(work);
    trash.discard(tree('restore', 1200));
    expect(deletionWindowLeftMs(work)).toBe(0); // moved aside, not deleted
    trash.empty();
    expect(fs.existsSync(`${work}.trash`)).toBe(false);
    expect(deletionWindowLeftMs(work)).toBeGreaterThan(0);

    fs.writeFileSync(path.join(root, '.bench-last-deletion'), 'not a time\n');
    expect(deletionWindowLeftMs(work)).toBe(0);
  });
});
