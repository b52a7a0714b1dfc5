/**
 * Tables fit the terminal (issue 17): the widest columns give way with "…" on
 * a terminal or with COLUMNS set; piped without COLUMNS, every character stays.
 * And a failing command's result does not repeat what stderr already said.
 */
import { describe, expect, it } from 'vitest';
import type { Table } from '../../commands/command.js';
import { cutToWidth, narrowText, outputWidth, renderResult, renderTable, textWidth } from '../../src/cli/render-text.js';
import { SaidOnce } from '../../src/cli/said-once.js';

const message = 'backup is transfer-pending: 4 objects (1.0 MiB) safe in local staging, not yet in s3://orders-backups/prod, which was not reachable; `lifeboat resume orders` uploads them';
const alerts: Table = {
  columns: [
    { key: 'severity', header: 'SEVERITY' },
    { key: 'key', header: 'KEY' },
    { key: 'message', header: 'MESSAGE' },
    { key: 'count', header: 'COUNT', align: 'right' },
  ],
  rows: [
    { severity: 'WARNING', key: 'failed-run:orders', message, count: '1' },
    { severity: 'CRITICAL', key: 'stale:books', message: 'last successful backup 27h ago, RPO 26h', count: '12' },
  ],
};

describe('renderTable', () => {
  it('without a width prints every cell in full', () => {
    const text = renderTable(alerts);
    expect(text).toContain(message);
    expect(text).not.toContain('…');
  });

  it('fits a width: every line at most that long, the widest column cut with an ellipsis, the narrow ones whole', () => {
    const text = renderTable(alerts, 80);
    const lines = text.split('\n');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    expect(lines[1]).toMatch(/^WARNING {3}failed-run:orders {2}backup is transfer-pending: .*… {2} {4}1$/);
    expect(lines[2]).toContain('CRITICAL  stale:books');
    expect(lines[2]).toMatch(/12$/);
    // The header row keeps its columns aligned with the rows.
    expect(lines[0]!.indexOf('MESSAGE')).toBe(lines[1]!.indexOf('backup'));
  });

  it('a table that already fits is left as it is', () => {
    expect(renderTable(alerts, 1000)).toBe(renderTable(alerts));
  });

  it('a terminal narrower than every column at its floor still shows each column, header included', () => {
    const lines = renderTable(alerts, 20).split('\n');
    expect(lines[0]).toMatch(/^SEVERITY {2}KEY {9}MESSAGE {5}COUNT$/);
    expect(lines[1]).toContain('failed-ru…');
  });
});

describe('outputWidth', () => {
  it('is the terminal width on a TTY, COLUMNS otherwise, and none when piped without COLUMNS', () => {
    expect(outputWidth({ isTTY: true, columns: 120 }, { COLUMNS: '80' })).toBe(120);
    expect(outputWidth({ isTTY: undefined }, { COLUMNS: '80' })).toBe(80);
    expect(outputWidth({ isTTY: undefined }, {})).toBeUndefined();
    expect(outputWidth({ isTTY: undefined }, { COLUMNS: 'wide' })).toBeUndefined();
    expect(outputWidth({ isTTY: undefined }, { COLUMNS: '0' })).toBeUndefined();
  });
});

describe('renderResult', () => {
  const stageError = "every source failed: source data: ENOENT: no such file or directory, lstat '/srv/orders'";

  it('fits its table to the width it is given', () => {
    const out = renderResult({ exitCode: 0, summary: '2 open alerts', table: alerts }, { width: 60 }).stdout;
    for (const line of out.trimEnd().split('\n')) expect(line.length).toBeLessThanOrEqual(60);
  });

  it('a failure summary that repeats an error said above points at it, with the command and the exit code', () => {
    const said = new SaidOnce();
    said.note(stageError);
    expect(renderResult({ exitCode: 1, summary: stageError }, { said, command: 'backup' }).stderr).toBe('lifeboat: backup failed (exit 1): see above\n');
    // Nothing said: the summary in full, as before.
    expect(renderResult({ exitCode: 1, summary: stageError }, { said: new SaidOnce(), command: 'backup' }).stderr).toBe(`lifeboat: ${stageError}\n`);
  });

  it('drops a result line that only labels an error said above, keeps the rest, and keeps success output untouched', () => {
    const said = new SaidOnce();
    said.note(stageError);
    const { stderr } = renderResult({ exitCode: 4, summary: 'transfer-pending orders: snapshot d274b1d1', lines: [`transfer-pending: ${stageError}`, 'warning: /srv/orders/tmp: skipped a socket'] }, { said, command: 'backup' });
    expect(stderr).toBe('warning: /srv/orders/tmp: skipped a socket\nlifeboat: transfer-pending orders: snapshot d274b1d1\n');
  });
});

describe('renderTable measures terminal columns, not UTF-16 units (issue 21)', () => {
  const wide: Table = {
    columns: [
      { key: 'name', header: 'NAME' },
      { key: 'note', header: 'NOTE' },
    ],
    rows: [
      { name: '東京のバックアップ', note: '日本語のメッセージがとても長くて端末に収まらないことがあります' },
      { name: 'emoji 🚀🔥', note: '👍🏽 family 👨‍👩‍👧 and flags 🇯🇵 in a long note that has to be cut somewhere' },
      { name: 'plain', note: 'ascii only' },
    ],
  };

  it('pads CJK and emoji cells by their display width, so the columns line up', () => {
    const lines = renderTable(wide).split('\n');
    // The NOTE column starts at the same display column on every line.
    const noteStart = (line: string, note: string) => textWidth(line.slice(0, line.indexOf(note)));
    expect(noteStart(lines[1]!, '日本語')).toBe(noteStart(lines[0]!, 'NOTE'));
    expect(noteStart(lines[2]!, '👍🏽')).toBe(noteStart(lines[0]!, 'NOTE'));
    expect(noteStart(lines[3]!, 'ascii')).toBe(noteStart(lines[0]!, 'NOTE'));
    expect(textWidth('東京のバックアップ')).toBe(18);
  });

  it('fitted to a width, no line is wider than it on screen, and cuts never split a character or an emoji', () => {
    for (const width of [30, 40, 57]) {
      const lines = renderTable(wide, width).split('\n');
      for (const line of lines) expect(textWidth(line), line).toBeLessThanOrEqual(width);
      expect(lines[1]).toMatch(/…$/);
      // Nothing half-cut: every kept grapheme is whole (no lone surrogate, no dangling joiner before the ellipsis).
      for (const line of lines) {
        expect(line).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
        expect(line).not.toMatch(/\u200D…/);
      }
    }
  });

  it('cutToWidth keeps whole graphemes within the width, with the ellipsis counted', () => {
    expect(cutToWidth('日本語テキスト', 6)).toBe('日本…');
    expect(textWidth(cutToWidth('日本語テキスト', 6))).toBeLessThanOrEqual(6);
    expect(cutToWidth('👨‍👩‍👧👨‍👩‍👧👨‍👩‍👧', 5)).toBe('👨‍👩‍👧👨‍👩‍👧…');
    expect(cutToWidth('short', 10)).toBe('short');
  });

  it('--wide (outputWidth with wide) gives no width even on a terminal, so every cell stays whole', () => {
    expect(outputWidth({ isTTY: true, columns: 40 }, {}, true)).toBeUndefined();
    expect(outputWidth({ isTTY: undefined }, { COLUMNS: '40' }, true)).toBeUndefined();
    const text = renderResult({ exitCode: 0, table: wide }, { width: outputWidth({ isTTY: true, columns: 40 }, {}, true) }).stdout;
    expect(text).toContain('日本語のメッセージがとても長くて端末に収まらないことがあります');
    expect(text).not.toContain('…');
  });
});

describe('narrow text is measured by its length, as string-width would (a diff of thousands of `a → b` cells)', () => {
  it('every character the narrow pattern admits is one column by string-width, and the excluded neighbours are not all one', async () => {
    const stringWidth = (await import('string-width')).default;
    const ranges = /\[(.*)\]/.exec(narrowText.source)![1]!;
    const admitted: string[] = [];
    for (let code = 0; code <= 0xffff; code++) {
      const c = String.fromCharCode(code);
      if (narrowText.test(c)) admitted.push(c);
    }
    expect(admitted.length, ranges).toBeGreaterThan(900);
    expect(admitted.filter((c) => stringWidth(c) !== 1).map((c) => c.codePointAt(0)!.toString(16))).toEqual([]);
    // What sits just outside: the soft hyphen, a combining mark, a zero-width space, the emoji selector, a wide arrow emoji.
    for (const c of ['\u00ad', '\u0301', '\u200b', '\ufe0f', '\u2b05\ufe0f', '\t']) expect(narrowText.test(c), c.codePointAt(0)!.toString(16)).toBe(false);
  });

  it('a cell with an arrow, Latin-1 and box drawing measures as string-width does, alone and with a combining mark or emoji selector', async () => {
    const stringWidth = (await import('string-width')).default;
    for (const text of ['1.7 KiB → 5.1 KiB', 'café × 2 ─ ±3°', 'e\u0301 → x', '↔\ufe0f ok', '']) expect(textWidth(text), JSON.stringify(text)).toBe(stringWidth(text));
  });
});
