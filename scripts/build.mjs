// Bundles the CLI and the repository worker into dist/ with esbuild (~0.3 s).
// Pure-JS packages are bundled in (one file parses faster than hundreds of
// modules resolve: `lifeboat --help` starts in ~0.2 s instead of ~0.8 s);
// native addons and the big SDKs stay external, and code split at dynamic
// imports so the AWS SDK and Slack load only when used.
import { build } from 'esbuild';

await build({
  entryPoints: { lifeboat: 'src/cli/entry.ts', 'repo-worker': 'src/core/repo/repo-worker.ts' },
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
});
