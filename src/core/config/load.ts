/**
 * Finding and reading lifeboat.yaml. Where it is looked for, first found wins:
 *
 *   1. `--config PATH` (the face passes it as `explicit`),
 *   2. LIFEBOAT_CONFIG,
 *   3. ./lifeboat.yaml (the working folder),
 *   4. /etc/lifeboat/lifeboat.yaml.
 *
 * A file named by 1 or 2 must exist: someone asked for it, and running on
 * defaults instead would silently drop their sinks. 3 and 4 are skipped when
 * absent; none at all is `defaultConfig`. A file that is found is checked
 * completely, like a runbook: every problem at once, each as
 * `lifeboat.yaml:12:8: notify.pager.routingKey: what is wrong (expected …)`,
 * with the runbook machinery's YAML positions (../runbook/yaml-source.ts).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { LifeboatError } from '../errors.js';
import { closest, formatIssue, issueAt, type RunbookIssue } from '../runbook/issues.js';
import { keyPosition, missingPosition, parseYamlSource, valuePosition, type YamlSource } from '../runbook/yaml-source.js';
import { ALERTS_KEYS, configSchema, REF_KEYS, ROUTE_KEYS, SECRET_FIELDS, SINK_KEYS, SMTP_KEYS, STORE_KEYS, TOP_KEYS } from './schema.js';
import { defaultConfig, type LifeboatConfig } from './types.js';

export const SYSTEM_CONFIG_FILE = '/etc/lifeboat/lifeboat.yaml';

export interface ConfigLocations {
  /** `--config PATH`, relative to `cwd`. */
  explicit?: string;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** The system-wide file; tests point it elsewhere. Default /etc/lifeboat/lifeboat.yaml. */
  systemFile?: string;
}

export interface ConfigCheck {
  file: string;
  config?: LifeboatConfig;
  issues: RunbookIssue[];
}

/** Where the file was found, and how (`--config`, `LIFEBOAT_CONFIG`, or a default place). */
export interface FoundConfig {
  file: string;
  via: '--config' | 'LIFEBOAT_CONFIG' | 'default';
}

function displayName(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

async function readIfPresent(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (code === 'EISDIR') throw new LifeboatError('USAGE', `Not a lifeboat.yaml but a folder: ${file}`, { details: { file } });
    throw new LifeboatError('USAGE', `Cannot read ${file}: ${code ?? (e as Error).message}`, { cause: e, details: { file } });
  }
}

/** The places looked at, in order, for messages ("none of …"). */
export function configCandidates(opts: ConfigLocations): FoundConfig[] {
  const out: FoundConfig[] = [];
  if (opts.explicit !== undefined) out.push({ file: path.resolve(opts.cwd, opts.explicit), via: '--config' });
  const fromEnv = opts.env.LIFEBOAT_CONFIG;
  if (fromEnv !== undefined && fromEnv !== '') out.push({ file: path.resolve(opts.cwd, fromEnv), via: 'LIFEBOAT_CONFIG' });
  out.push({ file: path.resolve(opts.cwd, 'lifeboat.yaml'), via: 'default' });
  out.push({ file: opts.systemFile ?? SYSTEM_CONFIG_FILE, via: 'default' });
  return out;
}

/**
 * Finds and checks lifeboat.yaml. Throws USAGE when a file named by
 * `--config` or LIFEBOAT_CONFIG does not exist; problems in the file come back
 * as issues. Undefined when no file was found.
 */
export async function findConfig(opts: ConfigLocations): Promise<ConfigCheck | undefined> {
  // The first explicit place decides: --config wins over LIFEBOAT_CONFIG, and neither falls back.
  for (const candidate of configCandidates(opts)) {
    const text = await readIfPresent(candidate.file);
    if (text === undefined) {
      if (candidate.via === 'default') continue;
      throw new LifeboatError('USAGE', `Config file not found: ${displayName(candidate.file, opts.cwd)} (given by ${candidate.via})`, {
        details: { file: candidate.file, via: candidate.via },
      });
    }
    return checkConfigText(text, candidate.file, opts.cwd);
  }
  return undefined;
}

/**
 * lifeboat.yaml as the engine uses it: `defaultConfig` when there is none.
 * Throws USAGE (file not found) or CONFIG_INVALID (every problem, one per
 * line, with `details.issues`).
 */
export async function loadConfig(opts: ConfigLocations): Promise<LifeboatConfig> {
  const check = await findConfig(opts);
  if (!check) return defaultConfig;
  if (!check.config) {
    throw new LifeboatError('CONFIG_INVALID', check.issues.map(formatIssue).join('\n'), { details: { file: check.file, issues: check.issues } });
  }
  return check.config;
}

const byPosition = (a: RunbookIssue, b: RunbookIssue) => a.line - b.line || a.col - b.col;

/** Validates lifeboat.yaml's text; `file` is its absolute path (`{ file: }` references resolve against its folder). */
export function checkConfigText(text: string, file: string, cwd: string): ConfigCheck {
  const shown = displayName(file, cwd);
  const src = parseYamlSource(text);
  if (src.problems.length > 0) {
    return { file, issues: src.problems.map((p) => issueAt(shown, p.position, p.path, p.message.replace('one runbook per file', 'one document per file'))).sort(byPosition) };
  }
  // An empty file is a config with every default, not an error: `touch lifeboat.yaml` is a fair start.
  const data = src.data === null || src.data === undefined ? {} : src.data;
  const result = configSchema(path.dirname(file)).safeParse(data, { reportInput: true });
  if (result.success) return { file, config: Object.freeze({ file, ...result.data }), issues: [] };
  const issues = result.error.issues.flatMap((issue) => toIssues(issue, src, data, shown));
  return { file, issues: [...new Map(issues.map((i) => [formatIssue(i), i])).values()].sort(byPosition) };
}

function dataAt(data: unknown, at: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let value = data;
  for (const seg of at) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, seg)) return { found: false, value: undefined };
    value = (value as Record<PropertyKey, unknown>)[seg];
  }
  return { found: true, value };
}

/** The keys a mapping at `at` may have, for "did you mean" hints. */
function allowedKeys(at: readonly PropertyKey[], data: unknown): readonly string[] {
  if (at.length === 0) return TOP_KEYS;
  if (isStoreUrl(at)) return REF_KEYS;
  if (at.length === 1 && at[0] === 'store') return STORE_KEYS;
  const last = at.at(-1);
  if (typeof last === 'string' && SECRET_FIELDS.has(last)) return REF_KEYS;
  if (at.length === 1 && at[0] === 'alerts') return ALERTS_KEYS;
  if (at[0] === 'alerts' && at[1] === 'notify') return ROUTE_KEYS;
  if (at[0] === 'notify' && at.length === 3 && at[2] === 'smtp') return SMTP_KEYS;
  if (at[0] === 'notify' && at.length === 2) {
    const type = (dataAt(data, at).value as { type?: unknown } | undefined)?.type;
    return typeof type === 'string' && type in SINK_KEYS ? SINK_KEYS[type as keyof typeof SINK_KEYS] : [];
  }
  return [];
}

/** `store.url`: a secret (the URL holds the password), unlike a webhook's `url`. */
const isStoreUrl = (at: readonly PropertyKey[]) => at[0] === 'store' && at[1] === 'url';
const isSecretPath = (at: readonly PropertyKey[]) => isStoreUrl(at) || at.some((seg) => typeof seg === 'string' && SECRET_FIELDS.has(seg));

function describe(value: unknown, secret: boolean): string {
  if (Array.isArray(value)) return 'a list';
  if (value !== null && typeof value === 'object') return 'a mapping';
  if (secret) return `a ${typeof value}`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  return String(value);
}

const EXPECTED: Record<string, string> = {
  string: 'text',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

function toIssues(issue: z.core.$ZodIssue, src: YamlSource, data: unknown, file: string): RunbookIssue[] {
  let at = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  // A route written as a bare name is checked as { sink: name }: report it at the name itself.
  if (at.at(-1) === 'sink' && typeof dataAt(data, at.slice(0, -1)).value === 'string') at = at.slice(0, -1);
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeys(at, data);
    return issue.keys.map((key) => {
      const guess = closest(key, allowed);
      const hint = guess !== undefined ? `did you mean "${guess}"?` : allowed.length > 0 ? `expected one of: ${allowed.join(', ')}` : 'expected it removed';
      return issueAt(file, keyPosition(src, [...at, key]), [...at, key], `Unknown field (${hint})`);
    });
  }
  const here = dataAt(data, at);
  if (issue.code === 'invalid_type') {
    const last = at.at(-1);
    const expected = (typeof last === 'string' && SECRET_FIELDS.has(last)) || (isStoreUrl(at) && at.length === 2) ? 'a reference: { env: NAME } or { file: PATH }' : (EXPECTED[issue.expected] ?? issue.expected);
    if (!here.found && at.length > 0) return [issueAt(file, missingPosition(src, at.slice(0, -1)), at, `Missing required field (expected ${expected})`)];
    const message = here.value === null ? `Empty value (expected ${expected})` : `Got ${describe(here.value, isSecretPath(at))} (expected ${expected})`;
    return [issueAt(file, valuePosition(src, at), at, message)];
  }
  if (issue.code === 'invalid_union') {
    // Routes are the only plain unions; their branches' own messages are about the wrong shape.
    return [issueAt(file, valuePosition(src, at), at, 'Not a route (expected a sink name, e.g. oncall-slack, or { sink: pager, severity: critical })')];
  }
  if (issue.code === 'too_small' || issue.code === 'too_big') {
    const message = /expected/.test(issue.message) ? issue.message : `${issue.message} (expected ${issue.code === 'too_small' ? 'more' : 'less'})`;
    return [issueAt(file, valuePosition(src, at), at, message)];
  }
  // A sink's name is a key: point at it, not at the sink's mapping.
  const isName = at.length === 2 && at[0] === 'notify' && issue.message.startsWith('Not a kebab-case sink name');
  const position = isName ? keyPosition(src, at) : here.found ? valuePosition(src, at) : missingPosition(src, at.slice(0, -1));
  return [issueAt(file, position, at, issue.message)];
}
