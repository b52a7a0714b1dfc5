/**
 * Tables fit the terminal (issue 17): the widest columns give way with "…" on
 * a terminal or with COLUMNS set; piped without COLUMNS, every character stays.
 * And a failing command's result does not repeat what stderr already said.
 */
import { describe, expect, it } from 'vitest';
import type { Table } from '../../commands/command.js';
import { outputWidth, renderResult, renderTable } from '../../src/cli/render-text.js';
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
