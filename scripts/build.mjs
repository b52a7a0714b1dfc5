// Bundles the CLI and the repository worker into dist/ with esbuild (~0.3 s).
// Pure-JS packages are bundled in (one file parses faster than hundreds of
// modules resolve); native addons and the big SDKs stay external, and code
// split at dynamic imports so the AWS SDK and Slack load only when used.
//
// Then the help: every help text is rendered from the command specs into
// dist/help.json, and the import-free argv reader (src/cli/help-request.ts)
// is bundled alone as dist/help-request.js, so bin/lifeboat.js answers
// `--help`, `help X`, `X --help` and `--version` without loading the CLI
// (issue 22: ~0.35 s → near a bare `node`).
//
// And the key's head start: dist/key-request.js (src/cli/key-request.ts) tells
// bin/lifeboat.js which runbook's key a command will open, and
// dist/key-prefetch.js starts its scrypt before the CLI loads (~0.6 s of
// derivation overlapped with loading; src/core/repo/kdf-prefetch.ts).
//
// Last, files in dist/ this build did not write (chunks of earlier builds,
// whose names carry a content hash) are removed — only once everything above
// succeeded, so a failed build leaves the last good one runnable, and only
// once they are STALE_AFTER_MS old: a process started from the previous build
// (a serve, a test's CLI) still imports its chunks lazily, by their old names.
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

// zod's classic and core APIs re-export every locale (`z.locales`, `z.core.locales`, ~366 KB of the CLI's ~1.8 MB bundle) that
// esbuild cannot drop from an `export * as`; Lifeboat only uses zod's default, English (set by
// zod itself from locales/en.js), and never `z.locales`. Compiling less is a shorter start-up
// for every command (issue 20/22). A use of another locale would find it undefined.
const onlyEnglishZodLocales = {
  name: 'only-english-zod-locales',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic|core)[\\/]/.test(args.importer) ? { path: resolve(args.resolveDir, '../locales/en.js'), namespace: 'zod-locales' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({ contents: `export { default as en } from ${JSON.stringify(args.path)};`, resolveDir: resolve(args.path, '..') }));
  },
};

const cli = await build({
  entryPoints: {
    lifeboat: 'src/cli/entry.ts',
    'repo-worker': 'src/core/repo/repo-worker.ts',
    'help-texts': 'src/cli/help-texts.ts',
    // Its own entry in the same split build: what it shares with the CLI (the
    // derivations started ahead, kdf-prefetch.ts) is one module instance.
    'key-prefetch': 'src/core/repo/prefetch-repository-key.ts',
  },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['zstd-napi', 'node-pty', '@aws-sdk/*', '@smithy/*', '@slack/*', 'esbuild', 'tsx', 's3rver', 'proper-lockfile', 'ink', 'react', 'react/*', 'ink-*'],
  // Bundled CommonJS packages call require() for Node built-ins; give ESM a require.
  banner: { js: "import { createRequire as __lbCreateRequire } from 'node:module'; const require = __lbCreateRequire(import.meta.url);" },
  sourcemap: 'linked',
  logLevel: 'warning',
  jsx: 'automatic',
  metafile: true,
  plugins: [onlyEnglishZodLocales],
});

// Alone (no splitting): bin/lifeboat.js loads these small files and nothing else.
const helpRequest = await build({
  entryPoints: { 'help-request': 'src/cli/help-request.ts', 'key-request': 'src/cli/key-request.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  metafile: true,
});

const { helpTexts } = await import(pathToFileURL(resolve('dist/help-texts.js')).href);
writeFileSync('dist/help.json', JSON.stringify(helpTexts()) + '\n');

const STALE_AFTER_MS = 10 * 60 * 1000;
const written = new Set(['help.json', ...[cli, helpRequest].flatMap((r) => Object.keys(r.metafile.outputs).map((file) => basename(file)))]);
for (const file of readdirSync('dist')) {
  const path = `dist/${file}`;
  if (!written.has(file) && Date.now() - statSync(path).mtimeMs > STALE_AFTER_MS) rmSync(path, { recursive: true, force: true });
}
