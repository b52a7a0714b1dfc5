/**
 * The masked comparison of golden screens (./screen-golden.ts) must see
 * through what changes between runs and nothing else: a screen captured at
 * another time, by another user, with other ids matches; a changed word, a
 * missing stage or a line more does not.
 */
import { describe, expect, it } from 'vitest';
import { linesAgree, maskScreen } from './screen-golden.js';

describe('maskScreen', () => {
  it('masks times, durations, ages, rates, sizes, ids and the user, and nothing a reader would call content', () => {
    const screen = [
      'backup demo ✓ succeeded · run 225702-6487be · started 608ms ago · took 528ms · live',
      '✓ discover  succeeded 185ms · 10 files · 2.3 KiB',
      ' fetch       12ms      1.9 KiB  374 KiB/s',
      'next         backup in 2m (2026-11-27 23:00:00Z) · drill in 2d11h',
      'RPO          ✓ ok: newest good backup 746ms old, objective 26h00m · stored 4.1 KiB',
      'backup demo: backed up demo: snapshot 5e1e33fa, 10 files',
      'backup slow started by cli:root — press 2 to watch',
    ].join('\n');
    expect(maskScreen(screen)).toBe(
      [
        'backup demo ✓ succeeded · run <run> · started <when> · took <dur> · live',
        '✓ discover succeeded <dur> · 10 files · <size>',
        ' fetch <dur> <size> <rate>',
        'next backup <when> (<time>) · drill <when>',
        'RPO ✓ ok: newest good backup <dur> old, objective <dur> · stored <size>',
        'backup demo: backed up demo: snapshot <id>, 10 files',
        'backup slow started by cli:<user> — press 2 to watch',
      ].join('\n'),
    );
  });

  it('matches a screen captured at another time with other ids and widths, and not one with other content', () => {
    const original = [
      'backup demo ✓ succeeded · run 225702-6487be · started 608ms ago · took 528ms · live',
      '',
      '✓ discover  succeeded 185ms · 10 files · 2.3 KiB',
      '✓ snapshot  succeeded 241ms · 10 files · 2.3 KiB read · 2.3 KiB new · 4.1 KiB stored',
      '✓ verify    succeeded 141ms · 0 B read',
      '',
      'backup demo: backed up demo: snapshot 5e1e33fa, 10 files',
    ].join('\n');
    const later = original
      .replace('225702-6487be', '093011-a1b2c3')
      .replace('608ms ago', '12.4s ago')
      .replace('185ms', '1.2s')
      .replace('4.1 KiB', '4.2 KiB')
      .replace('5e1e33fa', '0badcafe');
    expect(maskScreen(later)).toBe(maskScreen(original));
    expect(maskScreen(original.replace('✓ verify', '✗ verify'))).not.toBe(maskScreen(original));
    expect(maskScreen(original.replace('10 files ·', '11 files ·'))).not.toBe(maskScreen(original));
    expect(maskScreen(original.replace('succeeded 241ms', 'failed 241ms'))).not.toBe(maskScreen(original));
    expect(maskScreen(`${original}\nan extra line`)).not.toBe(maskScreen(original));
  });

  it('compares a line cut at the terminal’s width only up to the cut, wherever the masked widths moved it', () => {
    const golden = maskScreen('backup slow ▶ running · run 225706-246c9e · started 1.6s ago · from store (cli:…');
    expect(linesAgree(golden, maskScreen('backup slow ▶ running · run 093011-a1b2c3 · started 12.3s ago · from store (cli:alice)'))).toBe(true);
    expect(linesAgree(golden, maskScreen('backup slow ▶ running · run 093011-a1b2c3 · started 12.3s ago · from st…'))).toBe(true);
    expect(linesAgree(golden, maskScreen('backup slow ✗ failed · run 093011-a1b2c3 · started 12.3s ago · from store (cli:…'))).toBe(false);
    expect(linesAgree('a b c', 'a b d')).toBe(false);
  });
});
