/**
 * Is this argv a request for help or the version, and for which topic? Pure
 * and import-free: bin/lifeboat.js runs it (bundled alone as
 * dist/help-request.js) to answer `--help` from dist/help.json without loading
 * the CLI, and main.ts runs the same function, so both read argv alike.
 */

export type HelpRequest = { kind: 'main' } | { kind: 'version' } | { kind: 'topic'; name: string };

/** The texts the build renders (help-texts.ts): main help, one per command, host and shell helper, the version line. */
export interface HelpTexts {
  main: string;
  version: string;
  topics: Record<string, string>;
}

/** Global flags main.ts takes out of argv (besides `--config`, which takes the next argument too). */
export const globalFlags: ReadonlySet<string> = new Set(['--json', '--quiet', '-q', '--wide']);

/** argv without the global flags (and --config's path), as a command would see it. */
export function withoutGlobalFlags(argv: readonly string[]): string[] {
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg === '--config') i++;
    else if (!globalFlags.has(arg) && !arg.startsWith('--config=')) rest.push(arg);
  }
  return rest;
}

const isHelpFlag = (a: string): boolean => a === '--help' || a === '-h';

export function helpRequest(argv: readonly string[]): HelpRequest | undefined {
  const [first, ...rest] = withoutGlobalFlags(argv);
  if (first === undefined) return undefined;
  if (isHelpFlag(first)) return { kind: 'main' };
  if (first === '--version' || first === '-V') return { kind: 'version' };
  if (first === 'help') return rest[0] === undefined || isHelpFlag(rest[0]) ? { kind: 'main' } : { kind: 'topic', name: rest[0] };
  const end = rest.indexOf('--');
  if ((end === -1 ? rest : rest.slice(0, end)).some(isHelpFlag)) return { kind: 'topic', name: first };
  return undefined;
}

/** The text that answers argv from prerendered texts; undefined when argv asks for something else or a topic they lack. */
export function answerFromTexts(texts: HelpTexts, argv: readonly string[]): string | undefined {
  const request = helpRequest(argv);
  if (request === undefined) return undefined;
  if (request.kind === 'main') return texts.main;
  if (request.kind === 'version') return texts.version;
  return Object.hasOwn(texts.topics, request.name) ? texts.topics[request.name] : undefined;
}
