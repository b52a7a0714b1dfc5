/**
 * Environment variables a test file sets for its own process and gives back
 * after: vitest.config.ts runs test files one after another in a shared worker
 * process (isolate: false), so a variable left set would leak into the next file.
 */
export type SavedEnv = Record<string, string | undefined>;

/** The current values of `names` (undefined: not set), for restoreEnv. */
export function saveEnv(...names: string[]): SavedEnv {
  return Object.fromEntries(names.map((name) => [name, process.env[name]]));
}

/** Puts each saved variable back as it was, unsetting the ones that were not set. */
export function restoreEnv(saved: SavedEnv): void {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
}
