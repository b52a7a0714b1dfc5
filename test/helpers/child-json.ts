/**
 * Runs a TypeScript helper in a fresh node process (`node --import tsx SCRIPT ARGS…`, NODE_OPTIONS
 * cleared) and returns the last line it printed, parsed as JSON: for measurements a test runner's own
 * process would distort (its grown heap, its threads, process-wide settings).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function childJsonLine<T>(script: string, args: readonly string[]): Promise<T> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', script, ...args], { env: { ...process.env, NODE_OPTIONS: '' } });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
}
