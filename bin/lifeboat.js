#!/usr/bin/env node
// Runs the bundled build (dist/, made by `npm run build`, which `npm start` and
// `npm ci` run); from a checkout without a build, runs the sources through tsx.
//
// Help and the version are answered from dist/help.json, rendered by the build
// from the command specs, before the CLI is loaded: `lifeboat --help` then
// starts about as fast as node itself (issue 22). Anything else — or a topic
// the file does not know — goes to the CLI, which renders the same texts.
import { existsSync, readFileSync } from 'node:fs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const bundle = new URL('../dist/lifeboat.js', import.meta.url);
const helpFile = new URL('../dist/help.json', import.meta.url);
const helpReader = new URL('../dist/help-request.js', import.meta.url);

async function prerenderedHelp() {
  if (!existsSync(bundle) || !existsSync(helpFile) || !existsSync(helpReader)) return undefined;
  try {
    const { answerFromTexts } = await import(helpReader.href);
    return answerFromTexts(JSON.parse(readFileSync(helpFile, 'utf8')), process.argv.slice(2));
  } catch {
    return undefined; // a damaged help file: the CLI renders help itself
  }
}

const help = await prerenderedHelp();
if (help !== undefined) {
  // `lifeboat --help | head -1`: a closed pipe is no error worth a stack trace.
  process.stdout.on('error', () => undefined);
  process.stdout.write(help);
} else if (existsSync(bundle)) {
  await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/entry.ts', import.meta.url).href);
}
