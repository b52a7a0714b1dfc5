/**
 * Reading README.md's "From the demo to production" walk the way
 * test/e2e/readme-walk.test.ts runs it: its fenced blocks with the marker
 * comment right above each (`<!-- walk -->`, `<!-- walk: define -->`,
 * `<!-- walk: file PATH -->`, `<!-- walk: env -->`, or none), the system
 * paths it names moved under a temp root, and the systemd unit's
 * ExecStart= with the environment systemd would give it.
 */
import { readFileSync } from 'node:fs';

export type WalkMarker = { kind: 'run' } | { kind: 'define' } | { kind: 'file'; path: string } | { kind: 'env' } | { kind: 'none' };

export interface WalkBlock {
  /** The fence's language (`sh`, `yaml`). */
  lang: string;
  marker: WalkMarker;
  /** The block's text, without the fences, ending in a newline. */
  body: string;
  /** 1-based line of the opening fence in README.md, for messages. */
  line: number;
}

function parseMarker(line: string | undefined): WalkMarker {
  const m = /^<!-- walk(?::\s*(define|env|file\s+(\S+)))?\s*-->$/.exec((line ?? '').trim());
  if (!m) return { kind: 'none' };
  if (m[1] === undefined) return { kind: 'run' };
  if (m[1] === 'define') return { kind: 'define' };
  if (m[1] === 'env') return { kind: 'env' };
  return { kind: 'file', path: m[2]! };
}

/** The fenced blocks of the `## heading` section (up to the next `## `), in order. */
export function readWalk(readmePath: string, heading: string): WalkBlock[] {
  const lines = readFileSync(readmePath, 'utf8').split('\n');
  const start = lines.indexOf(`## ${heading}`);
  if (start < 0) throw new Error(`${readmePath}: no "## ${heading}" section`);
  const blocks: WalkBlock[] = [];
  for (let i = start + 1; i < lines.length && !lines[i]!.startsWith('## '); i++) {
    const fence = /^```(\w*)\s*$/.exec(lines[i]!);
    if (!fence) continue;
    const open = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]!);
    if (i >= lines.length) throw new Error(`${readmePath}:${open + 1}: a code block that is never closed`);
    blocks.push({ lang: fence[1] ?? '', marker: parseMarker(lines[open - 1]), body: `${body.join('\n')}\n`, line: open + 1 });
  }
  return blocks;
}

/**
 * Moves the walk's system paths under `root` (and the checkout's own path to
 * `checkout`) in a block, a written file or the unit alike; `/etc` itself,
 * which the walk backs up, stays where it is.
 */
export function pathMapper(root: string, checkout: string): (text: string) => string {
  const moves: Array<[string, string]> = [
    ['/etc/lifeboat', `${root}/etc/lifeboat`],
    ['/var/lib/lifeboat', `${root}/var/lib/lifeboat`],
    ['/usr/local/bin/lifeboat', `${root}/usr/local/bin/lifeboat`],
    ['/opt/lifeboat', checkout.replace(/\/$/, '')],
  ];
  return (text) => moves.reduce((out, [from, to]) => out.split(from).join(to), text);
}

/** `NAME=` assignments of an env file (systemd's EnvironmentFile= format, as the walk writes it). */
export function envNames(text: string): string[] {
  return [...text.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((m) => m[1]!);
}

/** An env file in the format the walk uses: `NAME='value'`, which systemd and `set -a; .` read alike. */
export function formatEnvFile(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([name, value]) => {
      if (value.includes("'") || value.includes('\n')) throw new Error(`${name}: a value the walk's env file cannot hold`);
      return `${name}='${value}'`;
    })
    .join('\n')
    .concat('\n');
}

/** Reads an EnvironmentFile= the way systemd does for the simple lines the walk writes (comments, NAME=value, quoted values). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new Error(`env file line systemd would not read as NAME=value: ${line}`);
    const value = m[2]!;
    const quoted = /^'(.*)'$/.exec(value) ?? /^"(.*)"$/.exec(value);
    out[m[1]!] = quoted ? quoted[1]! : value;
  }
  return out;
}

export interface UnitService {
  execStart: string[];
  /** Environment= assignments, in order. */
  environment: Record<string, string>;
  environmentFiles: string[];
  workingDirectory: string | undefined;
  user: string | undefined;
  /** AmbientCapabilities=, as setpriv names them (`dac_read_search`). */
  ambientCapabilities: string[];
}

/** The [Service] settings the test needs to start what systemd would start (one ExecStart=, no quoting in it). */
export function readUnitService(text: string): UnitService {
  const service: UnitService = { execStart: [], environment: {}, environmentFiles: [], workingDirectory: undefined, user: undefined, ambientCapabilities: [] };
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    if (section !== 'Service') continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'ExecStart') {
      if (service.execStart.length > 0) throw new Error('the unit has more than one ExecStart=');
      if (/["'\\$%]/.test(value)) throw new Error(`ExecStart= uses quoting or specifiers this reader does not expand: ${value}`);
      service.execStart = value.split(/\s+/);
    } else if (key === 'Environment') {
      for (const assignment of value.split(/\s+/)) {
        const at = assignment.indexOf('=');
        service.environment[assignment.slice(0, at)] = assignment.slice(at + 1);
      }
    } else if (key === 'EnvironmentFile') {
      service.environmentFiles.push(value);
    } else if (key === 'WorkingDirectory') {
      service.workingDirectory = value;
    } else if (key === 'User') {
      service.user = value;
    } else if (key === 'AmbientCapabilities') {
      service.ambientCapabilities.push(...value.split(/\s+/).map((c) => c.replace(/^CAP_/, '').toLowerCase()));
    }
  }
  if (service.execStart.length === 0) throw new Error('the unit has no ExecStart=');
  return service;
}
