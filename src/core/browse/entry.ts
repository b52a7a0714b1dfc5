/**
 * One entry of a snapshot as ls, find and diff show it: its path inside the
 * snapshot (`source/dir/name`), kind, size, permission bits and mtime. Owner
 * ids are left out: they say which machine made the backup, not what changed,
 * and would make every golden output machine-bound.
 */
import type { NodeType, TreeNode } from '../repo/tree.js';

export interface BrowseEntry {
  /** Inside the snapshot: `source/dir/name` (the root of a snapshot holds one entry per source). */
  path: string;
  name: string;
  type: NodeType;
  /** Bytes of a file; absent for folders and symlinks. */
  size?: number;
  /** Permission bits in octal, e.g. `0644` (setuid, setgid and sticky as a fourth digit). */
  mode: string;
  /** ISO time, to the millisecond the tree keeps. */
  mtime: string;
  /** A symlink's target, as it was read (never followed). */
  target?: string;
}

export function entryOf(node: TreeNode, path: string): BrowseEntry {
  return {
    path,
    name: node.name,
    type: node.type,
    ...(node.type === 'file' ? { size: node.size ?? 0 } : {}),
    mode: octalMode(node.mode),
    mtime: new Date(Math.floor(node.mtimeMs)).toISOString(),
    ...(node.type === 'symlink' && node.target !== undefined ? { target: node.target } : {}),
  };
}

export const octalMode = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');

/** `drwxr-xr-x`, `-rw-r--r--`, `lrwxrwxrwx`, with s/S and t/T like ls(1). */
export function modeString(type: NodeType, mode: number): string {
  const bit = (b: number, c: string) => ((mode & b) !== 0 ? c : '-');
  const special = (x: number, s: number, lower: string) => {
    const exec = (mode & x) !== 0;
    if ((mode & s) === 0) return exec ? 'x' : '-';
    return exec ? lower : lower.toUpperCase();
  };
  return (
    (type === 'dir' ? 'd' : type === 'symlink' ? 'l' : '-') +
    bit(0o400, 'r') + bit(0o200, 'w') + special(0o100, 0o4000, 's') +
    bit(0o40, 'r') + bit(0o20, 'w') + special(0o10, 0o2000, 's') +
    bit(0o4, 'r') + bit(0o2, 'w') + special(0o1, 0o1000, 't')
  );
}

/**
 * A path as a terminal should show it: as it is, unless it holds control
 * characters (a newline in a name would break a table row, an escape sequence
 * would drive the terminal) or a name starts or ends with a space (invisible
 * in a table), then JSON-quoted so every character is visible.
 */
export function displayPath(path: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f-\u009f]|(^|\/)\s|\s(\/|$)/.test(path) ? JSON.stringify(path) : path;
}

/** `a/b` + `c` → `a/b/c`; the root is ''. */
export const joinPath = (parent: string, name: string): string => (parent === '' ? name : `${parent}/${name}`);
