/**
 * Runbook problems as operators read them: `file:line:col: path: what is wrong
 * (expected …)`. Zod's issues are rewritten here with the schema's own field
 * documentation, and placed on the YAML node they are about.
 */
import type { z } from 'zod';
import { fieldAt, topLevelKeys, type FieldDoc } from './fields.js';
import { keyPosition, missingPosition, textAfterKey, valuePosition, type Position, type YamlSource } from './yaml-source.js';

export interface RunbookIssue {
  /** The file as given to the operator: relative to the working folder when inside it. */
  file: string;
  line: number;
  col: number;
  /** Dotted path of the field, `sources[1].path`; empty for the whole file. */
  path: string;
  message: string;
}

/** The one-line form: `runbooks/app.yaml:12:8: objectives.rpo: Unknown duration: "5x" (expected e.g. 15m, 26h, 30d)`. */
export function formatIssue(issue: RunbookIssue): string {
  return `${issue.file}:${issue.line}:${issue.col}: ${issue.path === '' ? '' : `${issue.path}: `}${issue.message}`;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

export function issueAt(file: string, position: Position, path: readonly PropertyKey[], message: string): RunbookIssue {
  return { file, line: position.line, col: position.col, path: formatPath(path), message };
}

/**
 * Zod parses with this as its fallback message; issues that still carry it had no
 * message of their own in the schema, and get one written from the field docs.
 */
export const UNWRITTEN = '\u0000unwritten';

function article(type: string): string {
  if (type.startsWith('one of') || type.startsWith('{')) return '';
  return /^[aeio]/i.test(type) ? 'an ' : 'a ';
}

function expectation(field: FieldDoc | undefined): string {
  if (!field) return 'a valid value';
  const example = field.example === undefined ? '' : `, e.g. ${field.example}`;
  return `${article(field.type)}${field.type}${example}`;
}

/** The field docs for a path; list items borrow their list's type. */
function fieldFor(path: readonly PropertyKey[]): FieldDoc | undefined {
  const field = fieldAt(path);
  if (field || typeof path.at(-1) !== 'number') return field;
  const list = fieldAt(path.slice(0, -1));
  if (!list || !list.type.startsWith('list of ')) return undefined;
  const item = list.type.slice('list of '.length).replace(/s$/, '');
  const doc: FieldDoc = { ...list, path: `${list.path}[]`, type: item };
  delete doc.example;
  delete doc.itemKeys;
  if (list.itemKeys) doc.keys = list.itemKeys;
  return doc;
}

// A password, or a value under `env:` (a child's variables): whatever was written there may be a secret.
const isSecretPath = (path: readonly PropertyKey[]) => path.includes('password') || path.includes('env');

function describeValue(value: unknown, secret: boolean): string {
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (value !== null && typeof value === 'object') return Object.keys(value).length === 0 ? 'an empty mapping' : 'a mapping';
  if (secret) return `a ${typeof value}`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  return String(value);
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j] ?? 0;
      row[j] = Math.min(up + 1, (row[j - 1] ?? 0) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length] ?? 0;
}

/** The candidate a typo most likely meant, if any is close enough to suggest. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = c.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(1, Math.min(2, Math.floor(word.length / 3))) ? best : undefined;
}

function dataAt(data: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let value = data;
  for (const seg of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, seg)) return { found: false, value: undefined };
    value = (value as Record<PropertyKey, unknown>)[seg];
  }
  return { found: true, value };
}

/** Rewrites one zod issue into runbook issues (unknown keys come one per key). */
export function fromZodIssue(issue: z.core.$ZodIssue, src: YamlSource, file: string): RunbookIssue[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const allowed = path.length === 0 ? topLevelKeys() : (fieldFor(path)?.keys ?? []);
    return issue.keys.map((key) => {
      const guess = closest(key, allowed);
      const hint = guess !== undefined ? `did you mean "${guess}"?` : `expected one of: ${allowed.join(', ')}`;
      return issueAt(file, keyPosition(src, [...path, key]), [...path, key], `Unknown field (${hint})`);
    });
  }
  const here = dataAt(src.data, path);
  const field = fieldFor(path);
  if (!here.found && path.length > 0) {
    const parentPath = path.slice(0, -1);
    const parent = dataAt(src.data, parentPath);
    if (parent.found && parent.value !== null && typeof parent.value === 'object' && !Array.isArray(parent.value)) {
      const message = issue.message === UNWRITTEN ? `Missing required field (expected ${expectation(field)})` : issue.message;
      return [issueAt(file, missingPosition(src, parentPath), path, message)];
    }
  }
  return [issueAt(file, valuePosition(src, path), path, messageFor(issue, here.value, path, field, src))];
}

function messageFor(issue: z.core.$ZodIssue, value: unknown, path: readonly PropertyKey[], field: FieldDoc | undefined, src: YamlSource): string {
  if (issue.message !== UNWRITTEN) return issue.message;
  if (path.length === 0) {
    const required = 'a mapping with at least name, sources, repository and objectives';
    return value === null || value === undefined ? `Empty runbook (expected ${required})` : `Got ${describeValue(value, false)} (expected ${required})`;
  }
  if (value === null || value === undefined) {
    const after = textAfterKey(src, path);
    const comment = after !== undefined && /^:\s+#/.test(after) ? '; an unquoted # starts a YAML comment' : '';
    return `Empty value${comment} (expected ${expectation(field)})`;
  }
  const secret = isSecretPath(path);
  if (issue.code === 'invalid_value' && typeof value === 'string' && field?.values) {
    const guess = closest(value, field.values);
    const hint = guess === undefined ? '' : `; did you mean ${guess}?`;
    return `Unknown value ${describeValue(value, secret)} (expected one of ${field.values.join(', ')}${hint})`;
  }
  return `Got ${describeValue(value, secret)} (expected ${expectation(field)})`;
}
