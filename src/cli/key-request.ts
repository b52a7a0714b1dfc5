/**
 * Which runbook's repository key a command line will open, when start-up can
 * tell before the CLI is loaded; bin/lifeboat.js then starts deriving that key
 * (src/core/repo/prefetch-repository-key.ts) while the CLI loads. Pure and
 * import-free like help-request.ts, and bundled with it, so reading argv costs
 * nothing.
 *
 * Only commands that open their runbook's hot repository on every run are
 * listed, and only the plain form `lifeboat CMD RUNBOOK …`: a command that
 * may not open it (--estimate, the cold tier, a copy) would spend ~0.6 s of the other
 * core for nothing, and a missed case merely starts as before.
 */
import { helpRequest, withoutGlobalFlags } from './help-request.js';

/** Commands whose first positional is the runbook and that open its repository's key. */
export const keyOpeningCommands: ReadonlySet<string> = new Set([
  'snapshots',
  'ls',
  'find',
  'diff',
  'dump',
  'restore',
  'restore-drill',
  'check',
  'backup',
  'forget',
]);

/** Options after which the hot repository's key may not be the one opened (another tier or a copy) or not be needed. */
const keyMayNotBeOpened = new Set(['--tier', '--copy', '--estimate', '--help', '-h']);

/** The runbook argument whose key to derive ahead, or undefined. */
export function keyRequest(argv: readonly string[]): string | undefined {
  if (helpRequest(argv) !== undefined) return undefined;
  const [name, runbook, ...rest] = withoutGlobalFlags(argv);
  if (name === undefined || !keyOpeningCommands.has(name)) return undefined;
  if (runbook === undefined || runbook.startsWith('-')) return undefined;
  if (rest.some((a) => keyMayNotBeOpened.has(a) || a.startsWith('--tier=') || a.startsWith('--copy='))) return undefined;
  return runbook;
}
