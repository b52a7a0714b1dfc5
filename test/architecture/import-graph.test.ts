/**
 * The house's arrows (README.md, "The house in a page"): faces → commands → core's
 * surface (src/core/index.ts) → core's parts, with no circle and no arrow back
 * up. Every import of every source file is read with TypeScript's own
 * pre-processor (static, type-only, re-exports and dynamic `import()`), so
 * what the ESLint layering rules cannot see (a dynamic import) is held too;
 * and the lint rules themselves are shown to fail on planted violations.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';

type Layer = 'face' | 'command' | 'surface' | 'core';

const FACES = ['cli', 'tui', 'slack', 'serve', 'agent'] as const;

/**
 * Faces do not import each other, except hosts launching what they host: the
 * CLI opens the console and starts serve and the agent, and serve runs the Slack face.
 */
const HOSTS: Record<string, readonly string[]> = { cli: ['tui', 'serve', 'agent'], serve: ['slack'] };

function sourceFiles(): string[] {
  const out: string[] = [];
  for (const top of ['commands', 'src']) {
    for (const e of readdirSync(join(repoRoot, top), { recursive: true, withFileTypes: true })) {
      if (e.isFile() && /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(relative(repoRoot, join(e.parentPath, e.name)));
    }
  }
  return out.sort();
}

/** Relative imports of a file, resolved to the source files they name (`.js` → `.ts`/`.tsx`). */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(join(repoRoot, file), 'utf8'), true, true);
  return importedFiles.flatMap(({ fileName }) => {
    if (!fileName.startsWith('.')) return [];
    const base = relative(repoRoot, resolve(repoRoot, dirname(file), fileName));
    const found = [base.replace(/\.js$/, '.ts'), base.replace(/\.js$/, '.tsx'), `${base}.ts`, join(base, 'index.ts')].find((c) => existsSync(join(repoRoot, c)));
    return found ? [found] : [];
  });
}

function layerOf(file: string): Layer | undefined {
  if (file === 'src/core/index.ts') return 'surface';
  if (file.startsWith('src/core/')) return 'core';
  if (file.startsWith('commands/')) return 'command';
  if (FACES.some((f) => file.startsWith(`src/${f}/`))) return 'face';
  return undefined;
}

const faceOf = (file: string): string | undefined => FACES.find((f) => file.startsWith(`src/${f}/`));
const coreDir = (file: string): string => file.split('/').slice(0, 3).join('/').replace(/\.tsx?$/, '');

/** Every arrow that breaks a rule, as `from → to: why`. */
function violations(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const bad: string[] = [];
  for (const [from, tos] of graph) {
    const a = layerOf(from);
    for (const to of tos) {
      const b = layerOf(to);
      const arrow = `${from} → ${to}`;
      if (a === undefined || b === undefined) continue;
      if ((a === 'core' || a === 'surface') && b !== 'core' && b !== 'surface') bad.push(`${arrow}: core imports no command and no face`);
      if (a === 'core' && b === 'surface') bad.push(`${arrow}: a core part does not import the surface (an arrow back up)`);
      if ((a === 'command' || a === 'face') && b === 'core') bad.push(`${arrow}: import core through src/core/index.ts`);
      if (a === 'command' && b === 'face') bad.push(`${arrow}: a command never imports a face`);
      if (a === 'face' && b === 'face') {
        const [fa, fb] = [faceOf(from)!, faceOf(to)!];
        if (fa !== fb && !(HOSTS[fa] ?? []).includes(fb)) bad.push(`${arrow}: faces do not import each other (only a host what it hosts)`);
      }
    }
  }
  return bad;
}

/** Every import circle (strongly connected set of more than one file, or a file importing itself). */
function circles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const members: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        members.push(w);
      } while (w !== v);
      if (members.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(members.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

const graph = new Map(sourceFiles().map((f) => [f, importsOf(f)] as const));

describe('the import graph', () => {
  it('reads every source file and its imports (dynamic ones too)', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('src/core/index.ts')!.length).toBeGreaterThan(10);
    // src/cli/main.ts opens the console with a dynamic import: it must be seen.
    expect(graph.get('src/cli/main.ts')).toContain('src/tui/run-tui.tsx');
  });

  it('points one way: faces → commands → core surface → core parts', () => {
    expect(violations(graph)).toEqual([]);
  });

  it('has no circle', () => {
    expect(circles(graph)).toEqual([]);
  });

  it('keeps run bookkeeping, the pipeline, tier and the use cases apart inside core', () => {
    const arrows = [...graph].flatMap(([from, tos]) => tos.map((to) => [coreDir(from), coreDir(to), `${from} → ${to}`] as const));
    const between = (a: string, b: string) => arrows.filter(([x, y]) => x === `src/core/${a}` && y === `src/core/${b}`).map(([, , why]) => why);
    // The use cases are the top of core: only the surface imports them.
    expect(arrows.filter(([x, y]) => y === 'src/core/use-cases' && x !== 'src/core/use-cases' && x !== 'src/core/index').map(([, , why]) => why)).toEqual([]);
    // The backup pipeline and tier do not reach into each other: the use case hands the tier stage to the pipeline.
    expect([...between('pipeline', 'tier'), ...between('tier', 'pipeline')]).toEqual([]);
    // Run records and locks sit below everything that records runs.
    for (const upper of ['pipeline', 'tier', 'drill', 'use-cases']) expect(between('runs', upper)).toEqual([]);
  });

  it('finds a planted violation and a planted circle', () => {
    const planted = new Map(graph);
    planted.set('commands/backup.ts', [...graph.get('commands/backup.ts')!, 'src/core/repo/restorer.ts', 'src/slack/app.ts']);
    planted.set('src/core/ids.ts', [...graph.get('src/core/ids.ts')!, 'src/core/index.ts']);
    const before = new Set(violations(graph));
    expect(violations(planted).filter((v) => !before.has(v))).toEqual([
      'commands/backup.ts → src/core/repo/restorer.ts: import core through src/core/index.ts',
      'commands/backup.ts → src/slack/app.ts: a command never imports a face',
      'src/core/ids.ts → src/core/index.ts: a core part does not import the surface (an arrow back up)',
    ]);
    expect(circles(planted).some((c) => c.includes('src/core/ids.ts') && c.includes('src/core/index.ts'))).toBe(true);
  });
});

describe('the ESLint layering rules (eslint.config.js)', async () => {
  // eslint.config.js is plain JavaScript: imported by URL, its `layering` export typed here.
  const { layering } = (await import(pathToFileURL(join(repoRoot, 'eslint.config.js')).href)) as { layering: Linter.Config[] };
  const eslint = new ESLint({
    cwd: repoRoot,
    overrideConfigFile: true,
    overrideConfig: [{ files: ['**/*.ts', '**/*.tsx'], languageOptions: { parser: tseslint.parser } }, ...layering],
  });
  const lint = async (file: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath: join(repoRoot, file) });
    return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
  };

  it('fail on a command importing a core part or a face, and on core importing a command', async () => {
    expect(await lint('commands/planted.ts', "import { restoreSnapshot } from '../src/core/repo/restorer.js';\n")).toEqual([
      expect.stringMatching(/^no-restricted-imports: .*src\/core\/index\.ts/),
    ]);
    expect(await lint('commands/support/planted.ts', "import { RunLock } from '../../src/core/runs/run-lock.js';\n")).toHaveLength(1);
    expect(await lint('commands/planted.ts', "import { createSlackApp } from '../src/slack/app.js';\n")).toEqual([expect.stringMatching(/a command never imports a face/)]);
    expect(await lint('src/tui/planted.ts', "import { formatBytes } from '../core/format.js';\n")).toHaveLength(1);
    expect(await lint('src/core/drill/planted.ts', "import { commands } from '../../../commands/index.js';\n")).toEqual([expect.stringMatching(/core imports no command/)]);
  });

  it('pass the surface', async () => {
    expect(await lint('commands/planted.ts', "import { backup, ExitCode } from '../src/core/index.js';\n")).toEqual([]);
    expect(await lint('src/serve/planted.ts', "import { RunLock } from '../core/index.js';\n")).toEqual([]);
  });
});
