// ESLint flat config. The rules that matter most here are the type-aware promise
// rules: an un-awaited promise in a backup tool loses data (the eslint rules below say which).
import { defineConfig, globalIgnores } from 'eslint/config';
import { builtinRules } from 'eslint/use-at-your-own-risk';
import tseslint from 'typescript-eslint';

// ESLint's own recommended set, read from the rules' metadata: the same list
// `@eslint/js`'s `configs.recommended` ships, without adding that package.
const eslintRecommended = {
  name: 'lifeboat/eslint-recommended',
  rules: Object.fromEntries(
    [...builtinRules].filter(([, rule]) => rule.meta?.docs?.recommended === true).map(([name]) => [name, 'error']),
  ),
};

const nodeGlobals = Object.fromEntries(
  [
    'process', 'console', 'Buffer', 'URL', 'URLSearchParams', 'setTimeout', 'clearTimeout', 'setInterval',
    'clearInterval', 'setImmediate', 'clearImmediate', 'queueMicrotask', 'structuredClone', 'performance',
    'AbortController', 'AbortSignal', 'TextEncoder', 'TextDecoder', 'fetch', 'globalThis',
  ].map((name) => [name, 'readonly']),
);

// Layering (README.md, "The house in a page"): faces → commands → core. Commands and the faces reach core
// only through its surface, src/core/index.ts; a command never imports a face; core
// imports neither. test/architecture/import-graph.test.ts walks every import (dynamic
// ones too, which this rule does not see) and proves the same, with no circle.
const coreInternals = {
  regex: '^(\\.\\./)+(src/)?core/(?!index\\.js$)',
  message: 'import core through its surface, src/core/index.ts (export what you need there)',
};
const faces = '(cli|tui|slack|serve|agent)';
/** Named, so the architecture test can lint a planted violation with exactly these rules. */
export const layering = [
  {
    name: 'lifeboat/layering-commands',
    files: ['commands/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [coreInternals, { regex: `^(\\.\\./)+src/${faces}/`, message: 'a command never imports a face: faces call commands' }] }],
    },
  },
  {
    name: 'lifeboat/layering-faces',
    files: ['src/{cli,tui,slack,serve,agent}/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [coreInternals] }],
    },
  },
  {
    name: 'lifeboat/layering-core',
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: `^(\\.\\./)+(commands|${faces})/`, message: 'core imports no command and no face: they call core' }] },
      ],
    },
  },
];

export default defineConfig(
  globalIgnores(['node_modules/', '.lifeboat/', 'bench/.data/', 'coverage/', 'dist/', '.vitest-report.json']),
  eslintRecommended,
  tseslint.configs.recommended,
  {
    name: 'lifeboat/all',
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: nodeGlobals },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `_name` marks a parameter kept for an interface's shape (e.g. Backend.save's options).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    name: 'lifeboat/type-aware',
    files: ['**/*.ts', '**/*.tsx', '**/*.mts'],
    languageOptions: {
      parserOptions: {
        projectService: {
          // Root config files sit outside tsconfig's include list.
          allowDefaultProject: ['*.config.ts'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  layering,
);
