/**
 * Golden screens of the real console (test/tui/screens/*.txt), compared with
 * what changes from run to run masked: times, durations, ages, rates, sizes,
 * run and snapshot ids, the user name. The files are real captures, readable as
 * they are; a test run only reads them, so it leaves the checkout clean.
 * `UPDATE_SCREENS=1 npx vitest run test/tui/tmux.e2e.test.ts` writes them
 * again after a change to the console's look.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { repoRoot } from '../helpers/cli.js';

const screensDir = join(repoRoot, 'test/tui/screens');

const DURATION = String.raw`\d+(?:\.\d+)?(?:ms|s|m|h|d)(?:\d+(?:ms|s|m|h))?`;

/** Each rule replaces what differs between two runs of the same scenario; order matters (times before durations). */
const MASKS: [RegExp, string][] = [
  [/\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?Z?/g, '<time>'],
  // Run ids: `<date>T<time>-<random>`, shown without the date.
  [/\b(?:\d{8}T)?\d{6}-[0-9a-f]{6}\b/g, '<run>'],
  // Snapshot ids (short form) and other hex ids.
  [/\b[0-9a-f]{8}(?:[0-9a-f]{56})?\b/g, '<id>'],
  // Rates and sizes: timings, and bytes of index and snapshot files that hold times, host and user.
  [/\b\d+(?:\.\d+)? (?:B|KiB|MiB|GiB|TiB)\/s\b/g, '<rate>'],
  [/\b\d+(?:\.\d+)? (?:B|KiB|MiB|GiB|TiB)\b/g, '<size>'],
  [new RegExp(String.raw`\bin ${DURATION}\b|\b${DURATION} ago\b`, 'g'), '<when>'],
  [new RegExp(String.raw`\b${DURATION}\b`, 'g'), '<dur>'],
  // Who started a run: the local user differs between machines.
  [/\b(cli|tui|slack|schedule):[\w.-]+/g, '$1:<user>'],
  // Columns padded to a width move with the width of what was masked.
  [/[ \t]+/g, ' '],
];

export function maskScreen(text: string): string {
  let out = text.replace(/[ \t]+$/gm, '').replace(/\n+$/, '');
  for (const [re, by] of MASKS) out = out.replace(re, by);
  return out.replace(/ +$/gm, '');
}

/** A line cut at the terminal's width ends in `…`; where it is cut moves with the masked widths, so only the words before the cut count. */
function beforeCut(line: string): string {
  return line.endsWith('…') ? line.slice(0, Math.max(0, line.lastIndexOf(' '))) : line;
}

/** Two masked lines agree when equal or, when either was cut at the terminal's width, when the words before the cuts agree. */
export function linesAgree(golden: string, actual: string): boolean {
  if (golden === actual) return true;
  if (!golden.endsWith('…') && !actual.endsWith('…')) return false;
  const [a, b] = [beforeCut(golden), beforeCut(actual)].sort((x, y) => x.length - y.length) as [string, string];
  return b.startsWith(a);
}

function clean(screen: string): string {
  return screen.replace(/[ \t]+$/gm, '').replace(/\n+$/, '') + '\n';
}

/** The screen matches test/tui/screens/<name>.txt, masked; with UPDATE_SCREENS=1 it becomes that file instead. */
export function expectScreen(name: string, screen: string): void {
  const path = join(screensDir, `${name}.txt`);
  if (process.env.UPDATE_SCREENS === '1') {
    writeFileSync(path, clean(screen));
    return;
  }
  if (!existsSync(path)) throw new Error(`no golden screen ${path}: run UPDATE_SCREENS=1 npx vitest run test/tui/tmux.e2e.test.ts, look at it and commit it`);
  const golden = maskScreen(readFileSync(path, 'utf8')).split('\n');
  const actual = maskScreen(screen).split('\n');
  // Lines that agree are shown as the golden's, so the diff vitest prints holds only the lines that do not.
  const reconciled = actual.map((line, i) => (golden[i] !== undefined && linesAgree(golden[i]!, line) ? golden[i]! : line));
  expect.soft(reconciled.join('\n'), `screen ${name} (masked) differs from ${path}; if the change is meant, UPDATE_SCREENS=1 rewrites it`).toBe(golden.join('\n'));
}
