/** The small pure parts of browsing: snapshot windows, size filters, patterns, names for a terminal, the text sniff. */
import { describe, expect, it } from 'vitest';
import { looksLikeText } from '../../../src/core/browse/dump.js';
import { displayPath, modeString } from '../../../src/core/browse/entry.js';
import { parseSizeFilter, pathMatcher } from '../../../src/core/browse/find.js';
import { pathParts } from '../../../src/core/browse/locate.js';
import { applyWindow, parseSnapshotWindow, parseWhen } from '../../../src/core/browse/snapshot-window.js';
import type { Snapshot } from '../../../src/core/repo/snapshot.js';

const now = new Date('2026-12-06T12:00:00Z');
const snap = (id: string, time: string) => ({ id, time }) as Snapshot;

describe('snapshot windows', () => {
  it('all, the newest N, since a date, a time or a duration back', () => {
    const snaps = [snap('a', '2026-12-01T02:00:00Z'), snap('b', '2026-12-03T02:00:00Z'), snap('c', '2026-12-05T02:00:00Z')];
    const ids = (text: string) => applyWindow(snaps, parseSnapshotWindow(text, now)).map((s) => s.id);
    expect(ids('all')).toEqual(['a', 'b', 'c']);
    expect(ids('2')).toEqual(['b', 'c']);
    expect(ids('9')).toEqual(['a', 'b', 'c']);
    expect(ids('since 2026-12-03')).toEqual(['b', 'c']);
    expect(ids('since=2026-12-03T02:00:01Z')).toEqual(['c']);
    expect(ids('since 4d')).toEqual(['b', 'c']);
    expect(parseWhen('2026-12-01 08:00', now, 'x').toISOString()).toBe('2026-12-01T08:00:00.000Z');
    for (const bad of ['0', 'yesterday', 'since', 'since soon', '-1']) expect(() => parseSnapshotWindow(bad, now), bad).toThrow(/--snapshots/);
  });
});

describe('size filters', () => {
  it('+ and > are bigger than, - and < smaller than; bare numbers are bytes', () => {
    expect(parseSizeFilter('+1MiB')).toEqual({ op: '>', bytes: 1024 * 1024 });
    expect(parseSizeFilter('>10kB')).toEqual({ op: '>', bytes: 10_000 });
    expect(parseSizeFilter('-512')).toEqual({ op: '<', bytes: 512 });
    expect(parseSizeFilter('<2GiB')).toEqual({ op: '<', bytes: 2 * 1024 ** 3 });
    expect(() => parseSizeFilter('1MiB')).toThrow(/expected \+SIZE/);
    expect(() => parseSizeFilter('+1 parsec')).toThrow(/Unknown size/);
  });
});

describe('patterns', () => {
  it('a name matches in any folder; a path from the root; dot files and newlines like any name', () => {
    const name = pathMatcher('*.conf');
    expect(name('data/etc/app.conf')).toBe(true);
    expect(name('data/.hidden.conf')).toBe(true);
    expect(name('data/etc/app.conf/inside')).toBe(false);
    const path = pathMatcher('/data/etc/**');
    expect(path('data/etc/a/b')).toBe(true);
    expect(path('other/etc/a')).toBe(false);
    expect(pathMatcher('line*')('data/line\nbreak.txt')).toBe(true);
    expect(pathMatcher('APP.yaml', { ignoreCase: true })('data/app.YAML')).toBe(true);
    expect(() => pathMatcher('/')).toThrow(/pattern is empty/);
  });

  it('splits a path into its parts, the root as none', () => {
    expect(pathParts('/data//etc/./')).toEqual(['data', 'etc']);
    expect(pathParts('/')).toEqual([]);
    expect(pathParts(undefined)).toEqual([]);
  });
});

describe('names on a terminal', () => {
  it('quotes control characters and edge spaces, leaves the rest as it is', () => {
    expect(displayPath('data/café 日本.txt')).toBe('data/café 日本.txt');
    expect(displayPath('data/line\nbreak')).toBe('"data/line\\nbreak"');
    expect(displayPath('data/\u001b[31mred')).toBe('"data/\\u001b[31mred"');
    expect(displayPath('data/ lead')).toBe('"data/ lead"');
    expect(displayPath('data/trail /x')).toBe('"data/trail /x"');
  });

  it('shows modes like ls(1)', () => {
    expect(modeString('file', 0o644)).toBe('-rw-r--r--');
    expect(modeString('dir', 0o1777)).toBe('drwxrwxrwt');
    expect(modeString('file', 0o4750)).toBe('-rwsr-x---');
    expect(modeString('file', 0o2640)).toBe('-rw-r-S---');
    expect(modeString('symlink', 0o777)).toBe('lrwxrwxrwx');
  });

  it('takes UTF-8 with tabs, newlines and colors for text; NUL, other controls and invalid UTF-8 for binary', () => {
    expect(looksLikeText(Buffer.from('port: 8080\n\tworkers: 4\r\n\u001b[32mok\u001b[0m 日本'))).toBe(true);
    expect(looksLikeText(Buffer.from([0x61, 0x00, 0x62]))).toBe(false);
    expect(looksLikeText(Buffer.from([0x61, 0x07]))).toBe(false);
    expect(looksLikeText(Buffer.from([0xff, 0xfe, 0x41]))).toBe(false);
    // A character cut at the sample's end is not invalid.
    const cut = Buffer.concat([Buffer.alloc(8191, 0x61), Buffer.from('é')]);
    expect(looksLikeText(cut)).toBe(true);
    expect(looksLikeText(Buffer.alloc(0))).toBe(true);
  });
});
