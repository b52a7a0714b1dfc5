#!/usr/bin/env node
// Runs the bundled build (dist/, made by `npm run build`, which `npm start` and
// `npm ci` run); from a checkout without a build, runs the sources through tsx.
import { existsSync } from 'node:fs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const bundle = new URL('../dist/lifeboat.js', import.meta.url);
if (existsSync(bundle)) {
  await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/entry.ts', import.meta.url).href);
}
