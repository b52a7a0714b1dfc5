/**
 * Source trees for round-trip tests, with every kind of entry a restore must
 * reproduce, and explicit mtimes (with a sub-millisecond part) on all of them.
 */
import { randomBytes } from 'node:crypto';
import { chmod, lutimes, mkdir, readdir, lstat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** 255 bytes in UTF-8: the longest name ext4 allows. */
export const longAsciiName = 'a'.repeat(251) + '.txt';
export const longUnicodeName = 'é'.repeat(127) + 'x'; // 127 × 2 bytes + 1

export const unicodeNames = [
  'caf\u00e9.txt', // NFC
  'cafe\u0301.txt', // NFD: a different name on Linux
  '日本語のファイル.txt',
  'emoji-🚀.txt',
  'line\nbreak',
  ' spaced name ',
  '-leading-dash',
  '..double-dot-prefix',
  'back\\slash',
];

export interface RichTree {
  /** Relative paths of regular files. */
  files: string[];
  /** Bytes of the one file bigger than `bigSize`. */
  bigFile: string;
}

/**
 * Build the tree under `root` (which must exist). `outside` is an absolute path
 * outside the tree that one symlink points at. `bigSize` is the size of a file
 * meant to be larger than the repository's max chunk.
 */
export async function makeRichTree(root: string, options: { outside: string; bigSize: number }): Promise<RichTree> {
  const files: string[] = [];
  const file = async (rel: string, content: Uint8Array | string, mode = 0o644) => {
    await writeFile(join(root, rel), content);
    await chmod(join(root, rel), mode);
    files.push(rel);
  };
  const dir = async (rel: string) => mkdir(join(root, rel), { recursive: true });

  await file('a.txt', 'hello, lifeboat\n');
  await file('empty.bin', '', 0o600);
  await file('exec.sh', '#!/bin/sh\necho hi\n', 0o755);
  await file('readonly.txt', 'do not touch\n', 0o444);
  await file('setuid-tool', 'not really a binary\n', 0o4750);
  await file('big.bin', randomBytes(options.bigSize), 0o640);
  // The same content twice: dedup stores it once and restores both.
  const twice = randomBytes(300 * 1024);
  await file('copy-1.bin', twice);
  await file('copy-2.bin', twice);
  await dir('nested/l1/l2/l3');
  await file('nested/l1/l2/l3/deep.txt', 'deep\n'.repeat(1000));
  await file('nested/l1/empty-file-in-dir', '');
  await dir('nested/l1/empty-dir');
  await dir('nested/private');
  await file('nested/private/key', randomBytes(100), 0o600);
  await dir('nested/sticky');
  await dir('links');
  await symlink('../a.txt', join(root, 'links/relative'));
  await symlink('does/not/exist', join(root, 'links/dangling'));
  await symlink(join(options.outside, 'secret.txt'), join(root, 'links/outside-absolute'));
  await symlink('../../../../../../../../etc', join(root, 'links/outside-relative'));
  await symlink('../nested', join(root, 'links/to-dir'));
  await dir('unicode');
  for (const name of unicodeNames) await file(`unicode/${name}`, `${name}\n`);
  await dir('long');
  await file(`long/${longAsciiName}`, 'long ascii\n');
  await file(`long/${longUnicodeName}`, 'long unicode\n');
  await dir(`long/${'d'.repeat(255)}`);
  await file(`long/${'d'.repeat(255)}/${longUnicodeName}`, 'two long names in a row\n');

  await chmod(join(root, 'nested/l1/empty-dir'), 0o750);
  await chmod(join(root, 'nested/private'), 0o700);
  await chmod(join(root, 'nested/sticky'), 0o1777);
  await chmod(join(root, 'nested/l1/l2'), 0o555);
  await setMtimes(root, Date.UTC(2021, 5, 7, 8, 9, 10, 123) + 0.4567);
  return { files, bigFile: 'big.bin' };
}

/** Give every entry under `root` (and root itself) a distinct mtime, deepest first so parents keep theirs. */
export async function setMtimes(root: string, startMs: number): Promise<void> {
  let n = 0;
  async function visit(abs: string): Promise<void> {
    const st = await lstat(abs);
    if (st.isDirectory()) for (const name of (await readdir(abs)).sort()) await visit(join(abs, name));
    const t = (startMs + n++ * 86_400_123.25) / 1000;
    if (st.isSymbolicLink()) await lutimes(abs, t, t);
    else await utimes(abs, t, t);
  }
  await visit(root);
}
