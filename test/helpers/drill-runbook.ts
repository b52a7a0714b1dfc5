/**
 * For the restore-drill tests: runbooks with `objectives` and `drill` set,
 * `lifeboat restore-drill --json` as a process with its drill record parsed,
 * the drill records of a state folder through the store's own API, and what is
 * left under the state folder's scratch space.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { stringify } from 'yaml';
import { REMOVING } from '../../src/core/drill/discard-scratch.js';
import { openJsonStore, type DrillRecord } from '../../src/core/store/index.js';
import { runCli, type CliResult } from './cli.js';
import type { PipelineSource } from './pipeline-runbook.js';

export interface DrillRunbookOptions {
  sources: PipelineSource[];
  /** Folder of the repository (a file:// URL is made of it). */
  repo: string;
  /** objectives.rto, e.g. `15m` or `1ms`. */
  rto?: string;
  /** drill.check */
  check?: string;
  /** drill.timeout, e.g. `30s`. */
  timeout?: string;
}

/** Writes `<dir>/<name>.yaml` (the base name must equal `name`) and returns its path. */
export async function writeDrillRunbook(dir: string, name: string, options: DrillRunbookOptions): Promise<string> {
  const doc = {
    name,
    owner: '@lifeboat-tests',
    sources: options.sources,
    repository: { hot: { url: `file://${options.repo}` }, password: { env: 'LIFEBOAT_PASSWORD' } },
    schedule: { backup: '0 * * * *', timezone: 'UTC' },
    objectives: { rpo: '26h', rto: options.rto ?? '15m' },
    drill: { ...(options.check !== undefined ? { check: options.check } : {}), timeout: options.timeout ?? '30s' },
  };
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, stringify(doc));
  return file;
}

export interface DrillCliResult extends CliResult {
  /** The `--json` envelope's parts. */
  summary: string;
  lines: string[];
  drill: DrillRecord;
}

/** `lifeboat restore-drill <args> --json`; fails the test when stdout is not the JSON envelope with a drill record. */
export async function runDrillCli(args: string[], env: Record<string, string>): Promise<DrillCliResult> {
  const res = await runCli(['restore-drill', ...args, '--json'], { env });
  let parsed: { summary: string; lines: string[]; data: DrillRecord };
  try {
    parsed = JSON.parse(res.stdout) as typeof parsed;
  } catch (e) {
    throw new Error(`restore-drill --json did not print JSON (exit ${res.code}):\nstdout: ${res.stdout}\nstderr: ${res.stderr}`, { cause: e });
  }
  expect(parsed.data?.id, `no drill record in ${res.stdout}`).toBeTruthy();
  return { ...res, summary: parsed.summary, lines: parsed.lines ?? [], drill: parsed.data };
}

/** The drill records of `runbook` in the state folder `home`, newest first. */
export async function drillsOf(home: string, runbook: string): Promise<DrillRecord[]> {
  const store = await openJsonStore(home);
  return store.listDrills({ runbook });
}

/** A folder's entries; an absent folder counts as empty. */
async function entriesOf(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/**
 * What is left in `<home>/scratch` once the background removal of discarded
 * drill folders (src/core/drill/discard-scratch.ts) has ended, waiting up to
 * `waitMs` for it: the drill folders themselves, and anything still under
 * `.removing` (named `.removing/<name>`) if it never ends.
 */
export async function scratchLeft(home: string, waitMs = 15_000): Promise<string[]> {
  const scratch = join(home, 'scratch');
  const removing = join(scratch, REMOVING);
  const deadline = Date.now() + waitMs;
  while ((await entriesOf(removing)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  const waiting = (await entriesOf(removing)).map((name) => `${REMOVING}/${name}`);
  return [...(await entriesOf(scratch)).filter((name) => name !== REMOVING), ...waiting];
}

/** The RTO phases (everything before cleanup) and their summed durations. */
export function rtoPhases(drill: DrillRecord): { names: string[]; sumMs: number; slowest: { name: string; durationMs: number } } {
  const phases = drill.phases.filter((p) => p.name !== 'cleanup');
  const slowest = phases.reduce((a, b) => (b.durationMs > a.durationMs ? b : a));
  return { names: phases.map((p) => p.name), sumMs: phases.reduce((s, p) => s + p.durationMs, 0), slowest };
}

/** Invert one byte of `file` at `offset` (the middle when left out); returns the offset used. */
export async function flipByte(file: string, offset?: number): Promise<number> {
  const bytes = await readFile(file);
  const at = offset ?? Math.floor(bytes.length / 2);
  bytes[at] = bytes[at]! ^ 0xff;
  await writeFile(file, bytes);
  return at;
}

export { processAlive } from '../../src/core/process-info.js';
