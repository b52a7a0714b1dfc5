/**
 * A parsed YAML file that remembers where every node came from, so a problem
 * found in the plain data can be reported at its line and column.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';

export interface Position {
  line: number;
  col: number;
}

/** A syntax-level problem, before any schema ran. */
export interface YamlProblem {
  position: Position;
  path: PropertyKey[];
  message: string;
}

export interface YamlSource {
  text: string;
  doc: Document.Parsed;
  lines: LineCounter;
  /** The plain data; undefined when the YAML did not parse. */
  data: unknown;
  problems: YamlProblem[];
}

type Located = { node: Node | null; key: Node | null; parent: Node | null; parentKey: Node | null; complete: boolean };

const start: Position = { line: 1, col: 1 };

function describeYamlError(code: string, message: string, path: readonly PropertyKey[]): string {
  switch (code) {
    case 'DUPLICATE_KEY': {
      const key = path.at(-1);
      return `Duplicate key${key === undefined ? '' : ` "${String(key)}"`} (expected each key once in a mapping)`;
    }
    case 'MULTIPLE_DOCS':
      return 'More than one YAML document in the file (expected one runbook per file, no second "---")';
    case 'TAB_AS_INDENT':
      return 'Tab used for indentation (expected spaces)';
    case 'BAD_SCALAR_START':
      return `YAML syntax error: ${message} (expected the value in quotes, e.g. "@storage-oncall")`;
    default:
      return `YAML syntax error: ${message}`;
  }
}

export function parseYamlSource(text: string): YamlSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const src: YamlSource = { text, doc, lines, data: undefined, problems: [] };
  for (const e of doc.errors) {
    // Only a duplicate key is sure to sit where the error points; elsewhere the parser
    // notices trouble later than it starts, and a field name would mislead.
    const path = e.code === 'DUPLICATE_KEY' ? pathAtOffset(doc.contents, e.pos[0]) : [];
    src.problems.push({ position: positionOf(src, e.pos[0]), path, message: describeYamlError(e.code, e.message, path) });
  }
  visit(doc, {
    Alias(_key, node) {
      if (node.resolve(doc) === undefined) {
        const offset = node.range?.[0] ?? 0;
        src.problems.push({
          position: positionOf(src, offset),
          path: pathAtOffset(doc.contents, offset),
          message: `Unknown alias "*${node.source}" (expected an anchor &${node.source} defined above it)`,
        });
      }
    },
  });
  if (src.problems.length === 0) {
    try {
      src.data = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      src.problems.push({ position: start, path: [], message: `YAML error: ${e instanceof Error ? e.message : String(e)}` });
    }
  }
  return src;
}

export function positionOf(src: YamlSource, offset: number): Position {
  const p = src.lines.linePos(offset);
  return { line: p.line, col: p.col };
}

function deref(src: YamlSource, node: unknown): Node | null {
  if (isAlias(node)) return (node.resolve(src.doc) as Node | undefined) ?? null;
  return (node as Node | null) ?? null;
}

function locate(src: YamlSource, path: readonly PropertyKey[]): Located {
  let node: Node | null = src.doc.contents;
  let key: Node | null = null;
  let parent: Node | null = null;
  let parentKey: Node | null = null;
  for (const seg of path) {
    const here = deref(src, node);
    let next: { node: Node | null; key: Node | null } | undefined;
    if (isMap(here) && typeof seg === 'string') {
      const pair = here.items.find((p) => isScalar(p.key) && String(p.key.value) === seg);
      if (pair) next = { node: (pair.value as Node | null) ?? null, key: pair.key as Node };
    } else if (isSeq(here) && typeof seg === 'number') {
      const item = here.items[seg];
      if (item !== undefined) next = { node: item as Node | null, key: null };
    }
    if (!next) return { node, key, parent, parentKey, complete: false };
    parent = here;
    parentKey = key;
    node = next.node;
    key = next.key;
  }
  return { node, key, parent, parentKey, complete: true };
}

function rangeStart(node: Node | null): number | undefined {
  return node?.range?.[0];
}

/** An empty value (`key:` with nothing after it) has no text of its own to point at. */
function isEmptyScalar(node: Node | null): boolean {
  const range = isScalar(node) ? node.range : undefined;
  return isScalar(node) && node.value === null && range !== undefined && range !== null && range[0] === range[1];
}

/** Where an issue about the value at `path` should point. */
export function valuePosition(src: YamlSource, path: readonly PropertyKey[]): Position {
  const at = locate(src, path);
  if (!at.complete) return positionOf(src, rangeStart(at.key) ?? rangeStart(at.node) ?? 0);
  if (at.node && !isEmptyScalar(at.node)) return positionOf(src, rangeStart(at.node) ?? 0);
  return positionOf(src, rangeStart(at.key) ?? rangeStart(at.parent) ?? 0);
}

/** Where an issue about the key that ends `path` should point (unknown fields). */
export function keyPosition(src: YamlSource, path: readonly PropertyKey[]): Position {
  const at = locate(src, path);
  return positionOf(src, rangeStart(at.key) ?? rangeStart(at.node) ?? 0);
}

/** Where an issue about a field missing from the mapping at `parentPath` should point: the mapping's own key. */
export function missingPosition(src: YamlSource, parentPath: readonly PropertyKey[]): Position {
  const at = locate(src, parentPath);
  return positionOf(src, rangeStart(at.key) ?? rangeStart(at.node) ?? 0);
}

/** The text of the line a key is on, after the key: used to spot `slack: #backups`. */
export function textAfterKey(src: YamlSource, path: readonly PropertyKey[]): string | undefined {
  const at = locate(src, path);
  const end = at.key?.range?.[1];
  if (!at.complete || end === undefined) return undefined;
  const nl = src.text.indexOf('\n', end);
  return src.text.slice(end, nl === -1 ? undefined : nl);
}

/** The data path of the deepest node that contains `offset`, for syntax errors. */
function pathAtOffset(root: unknown, offset: number): PropertyKey[] {
  const path: PropertyKey[] = [];
  let node = root;
  const within = (n: unknown) => {
    const r = (n as Node | null)?.range;
    return r !== undefined && r !== null && offset >= r[0] && offset < Math.max(r[2], r[0] + 1);
  };
  for (let depth = 0; depth < 64; depth++) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && (within(p.key) || within(p.value)));
      if (!pair || !isScalar(pair.key)) break;
      path.push(String(pair.key.value));
      if (within(pair.key)) break;
      node = pair.value;
    } else if (isSeq(node)) {
      const index = node.items.findIndex((item) => within(item));
      if (index === -1) break;
      path.push(index);
      node = node.items[index];
    } else {
      break;
    }
  }
  return path;
}
