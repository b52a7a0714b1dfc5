/**
 * Loading runbooks: find the file, parse the YAML, validate it against the
 * schema, resolve paths. A runbook either loads whole or is refused with every
 * problem in it at once, each at its line and column, so it never half-runs.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { closestName } from '../did-you-mean.js';
import { LifeboatError } from '../errors.js';
import { EXAMPLE_PREFIX, exampleOf, shippedExamplesDir } from './examples.js';
import { formatIssue, fromZodIssue, issueAt, UNWRITTEN, type RunbookIssue } from './issues.js';
import { resolveRunbook } from './resolve.js';
import { runbookSchema } from './schema.js';
import type { LifeboatConfig } from '../config/types.js';
import type { Runbook } from './types.js';
import { parseYamlSource, valuePosition } from './yaml-source.js';

export interface RunbookLocations {
  /** Where runbook names are looked up (LIFEBOAT_RUNBOOKS, `runbooks:` in lifeboat.yaml, else ./runbooks: config/places.ts); relative to cwd. */
  runbooksDir: string;
  /** The state folder that `${LIFEBOAT_HOME}` stands for (config/places.ts); relative to cwd. */
  home: string;
  /** The folder relative paths on the command line are read against. */
  cwd: string;
  /**
   * lifeboat.yaml, when the runbook's alert routes are to be checked against
   * its sinks (`runbooks validate`). Running a runbook does not check them: a
   * route to a missing sink must never stop a backup.
   */
  config?: LifeboatConfig;
}

export interface RunbookCheck {
  /** Absolute path of the YAML file. */
  file: string;
  runbook?: Runbook;
  issues: RunbookIssue[];
}

export interface RunbookEntry extends RunbookCheck {
  /** The name operators use: the file's base name. */
  name: string;
}

const yamlExtension = /\.ya?ml$/i;

/** The file name as operators should read it: relative when it is under the working folder. */
function displayName(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

function byPosition(a: RunbookIssue, b: RunbookIssue): number {
  return a.line - b.line || a.col - b.col;
}

/**
 * Validates runbook text. `file` is the absolute path (relative paths in the
 * runbook resolve against its folder, and the `name` must match its base name).
 */
export function checkRunbookText(text: string, file: string, opts: RunbookLocations): RunbookCheck {
  const shown = displayName(file, opts.cwd);
  const src = parseYamlSource(text);
  if (src.problems.length > 0) {
    // Past a syntax error the structure is a guess; checking it would report phantom problems.
    const issues = src.problems.map((p) => issueAt(shown, p.position, p.path, p.message)).sort(byPosition);
    return { file, issues };
  }
  const issues: RunbookIssue[] = [];
  const result = runbookSchema.safeParse(src.data, { reportInput: true, error: () => UNWRITTEN });
  if (!result.success) {
    for (const issue of result.error.issues) issues.push(...fromZodIssue(issue, src, shown));
  }
  const expected = path.basename(file).replace(yamlExtension, '');
  const name = (src.data as { name?: unknown } | null)?.name;
  if (typeof name === 'string' && name !== expected && !issues.some((i) => i.path === 'name')) {
    issues.push(
      issueAt(
        shown,
        valuePosition(src, ['name']),
        ['name'],
        `Name "${name}" does not match the file name ${path.basename(file)} (expected name: ${expected}, or the file renamed)`,
      ),
    );
  }
  const unique = [...new Map(issues.map((i) => [formatIssue(i), i])).values()].sort(byPosition);
  if (unique.length > 0 || !result.success) return { file, issues: unique };
  const home = path.resolve(opts.cwd, opts.home);
  const runbook = resolveRunbook(result.data, { file, home });
  const routes = opts.config ? routeIssues(runbook, opts.config, (at) => valuePosition(src, at), shown, opts.cwd) : [];
  return routes.length > 0 ? { file, issues: routes } : { file, runbook, issues: [] };
}

/** A route to a sink lifeboat.yaml does not define, named with both files. */
function routeIssues(runbook: Runbook, config: LifeboatConfig, at: (path: PropertyKey[]) => { line: number; col: number }, shown: string, cwd: string): RunbookIssue[] {
  const defined = Object.keys(config.notify);
  const where = config.file === undefined ? 'no lifeboat.yaml was found (--config, LIFEBOAT_CONFIG, ./lifeboat.yaml, /etc/lifeboat/lifeboat.yaml)' : `not under notify: in ${displayName(config.file, cwd)}`;
  const has = defined.length > 0 ? `; defined: ${defined.join(', ')}` : '';
  return (runbook.alerts.notify ?? []).flatMap((route, i) =>
    defined.includes(route.sink) ? [] : [issueAt(shown, at(['alerts', 'notify', i]), ['alerts', 'notify', i], `No sink named "${route.sink}": ${where}${has}`)],
  );
}

async function readRunbookFile(file: string, shown: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new LifeboatError('RUNBOOK_NOT_FOUND', `Runbook file not found: ${shown}`, { details: { file } });
    }
    if (code === 'EISDIR') {
      throw new LifeboatError('RUNBOOK_NOT_FOUND', `Not a runbook file but a folder: ${shown}`, { details: { file } });
    }
    throw new LifeboatError('RUNBOOK_INVALID', `Cannot read runbook ${shown}: ${(e as Error).message}`, { cause: e, details: { file } });
  }
}

/** Validates one file. Throws only when it cannot be read (RUNBOOK_NOT_FOUND); problems come back as issues. */
export async function validateRunbookFile(file: string, opts: RunbookLocations): Promise<RunbookCheck> {
  const abs = path.resolve(opts.cwd, file);
  const text = await readRunbookFile(abs, displayName(abs, opts.cwd));
  return checkRunbookText(text, abs, opts);
}

async function runbookFiles(dir: string): Promise<Array<{ name: string; file: string }>> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw e;
  }
  return entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && !e.name.startsWith('.') && yamlExtension.test(e.name))
    .map((e) => ({ name: e.name.replace(yamlExtension, ''), file: path.join(dir, e.name) }))
    .sort((a, b) => (a.name === b.name ? (a.file < b.file ? -1 : 1) : a.name < b.name ? -1 : 1));
}

/**
 * Every runbook in the runbooks folder (top level only, so examples in
 * subfolders are not live), valid or not, sorted by name. A missing folder is
 * an empty list.
 */
export async function listRunbooks(opts: RunbookLocations): Promise<RunbookEntry[]> {
  const dir = path.resolve(opts.cwd, opts.runbooksDir);
  const files = await runbookFiles(dir);
  return Promise.all(
    files.map(async ({ name, file }) => {
      const check = await validateRunbookFile(file, opts);
      const twins = files.filter((f) => f.name === name && f.file !== file);
      const issues = [...check.issues];
      for (const twin of twins) {
        issues.unshift({
          file: displayName(file, opts.cwd),
          line: 1,
          col: 1,
          path: '',
          message: `Runbook "${name}" is also defined by ${path.basename(twin.file)} (expected one file per name)`,
        });
      }
      return twins.length > 0
        ? { name, file, issues }
        : { name, ...check };
    }),
  );
}

function refuse(check: RunbookCheck): never {
  throw new LifeboatError('RUNBOOK_INVALID', check.issues.map(formatIssue).join('\n'), {
    details: { file: check.file, issues: check.issues },
  });
}

/** Is this argument a path to a YAML file rather than a runbook name? */
export function isRunbookPath(ref: string): boolean {
  return ref.includes('/') || ref.includes(path.sep) || yamlExtension.test(ref);
}

/**
 * The file a runbook argument names: `examples/NAME` → a shipped example
 * (./examples.ts), a path (has a slash or a .yaml/.yml ending) → that file,
 * anything else → NAME.yaml (or .yml) in the runbooks folder. Throws
 * RUNBOOK_NOT_FOUND (with the names there are) or RUNBOOK_INVALID (two files
 * for one name).
 */
export async function findRunbookFile(ref: string, opts: RunbookLocations): Promise<string> {
  const example = exampleOf(ref);
  if (example !== undefined) {
    const dir = shippedExamplesDir();
    const files = await runbookFiles(dir);
    const match = files.find((f) => f.name === example);
    if (match !== undefined) return match.file;
    const available = files.map((f) => `${EXAMPLE_PREFIX}${f.name}`);
    const near = closestName(ref, available);
    const hint = near === undefined ? '' : `; did you mean "${near}"?`;
    throw new LifeboatError('RUNBOOK_NOT_FOUND', `No example named "${ref}" in ${dir} (available: ${available.join(', ') || 'none'})${hint}`, {
      details: { name: ref, examplesDir: dir, available },
    });
  }
  let file: string;
  if (isRunbookPath(ref)) {
    file = path.resolve(opts.cwd, ref);
  } else {
    const dir = path.resolve(opts.cwd, opts.runbooksDir);
    const files = await runbookFiles(dir);
    const matches = files.filter((f) => f.name === ref);
    const [match] = matches;
    if (match === undefined) {
      const available = [...new Set(files.map((f) => f.name))];
      const list = available.length > 0 ? `available: ${available.join(', ')}` : 'there are none';
      const near = closestName(ref, available);
      const hint = near === undefined ? '' : `; did you mean "${near}"?`;
      throw new LifeboatError('RUNBOOK_NOT_FOUND', `No runbook named "${ref}" in ${displayName(dir, opts.cwd)} (${list})${hint}`, {
        details: { name: ref, runbooksDir: dir, available },
      });
    }
    if (matches.length > 1) {
      throw new LifeboatError(
        'RUNBOOK_INVALID',
        `Runbook "${ref}" is defined twice: ${matches.map((m) => displayName(m.file, opts.cwd)).join(' and ')} (expected one file per name)`,
        { details: { name: ref, files: matches.map((m) => m.file) } },
      );
    }
    file = match.file;
  }
  return file;
}

/**
 * A runbook by name (`demo` → runbooks/demo.yaml or .yml), by path, or a
 * shipped example (`examples/NAME`): see findRunbookFile. Throws
 * RUNBOOK_NOT_FOUND (with the names there are) or RUNBOOK_INVALID (with every
 * problem, one per line, and `details.issues`).
 */
export async function loadRunbook(ref: string, opts: RunbookLocations): Promise<Runbook> {
  const file = await findRunbookFile(ref, opts);
  const check = await validateRunbookFile(file, opts);
  if (!check.runbook) refuse(check);
  return check.runbook;
}
