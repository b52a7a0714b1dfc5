/**
 * A drill's shell commands (a stream source's `restore`, the runbook's
 * `drill.check`) through the one child runner (src/core/child/run-piped.ts):
 * the caller's {@link ChildEnv}, a timeout, optionally a file on stdin, and
 * the tail of stdout and stderr together for the drill record.
 */
import type { ChildEnv } from '../child/child-env.js';
import { runPiped, type PipedRunResult } from '../child/run-piped.js';

export type ShellResult = PipedRunResult;

/** More than a stream source keeps: a failed check's own output is usually the whole explanation. */
const DRILL_TAIL = { chars: 8192, lines: 15 };

export function runShell(command: string, options: { cwd: string; env: ChildEnv; stdinFile?: string; timeoutMs: number; signal?: AbortSignal }): Promise<ShellResult> {
  return runPiped(command, { ...options, tail: DRILL_TAIL });
}
