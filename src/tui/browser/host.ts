/**
 * How the browser's requests are carried out: through the same commands the
 * CLI runs (snapshots, ls, find, diff, restore — their `data`, as `--json`
 * prints it), so the browser sees exactly what the commands see (a runbook's
 * own snapshots, the restore's overwrite policy and dry run). Only the
 * preview is read straight into memory, a bounded head of the file: `dump`
 * writes to stdout.
 */
import type { CommandResult } from '../../../commands/command.js';
import { looksLikeText, type BrowseEntry, type DiffChange, type FindMatch } from '../../core/index.js';
import type { BrowserRequest, BrowserResult, SnapshotRow } from './model.js';

/** What the console host gives the browser. */
export interface BrowseHost {
  run(argv: string[], signal: AbortSignal): Promise<CommandResult>;
  /** The first `maxBytes` of a file in a snapshot. */
  readHead(runbook: string, snapshot: string, path: string, maxBytes: number, signal: AbortSignal): Promise<{ bytes: Uint8Array; truncated: boolean }>;
}

/** How much of a file the preview reads, and shows. */
export const PREVIEW_BYTES = 64 * 1024;

export class BrowseFailed extends Error {}

export async function performBrowse(host: BrowseHost, runbook: string, req: BrowserRequest, signal: AbortSignal): Promise<BrowserResult> {
  const data = async (argv: string[]) => {
    const result = await host.run(argv, signal);
    if (result.exitCode !== 0 && result.exitCode !== 3) throw new BrowseFailed(result.summary ?? `${argv[0]} failed (exit ${result.exitCode})`);
    return result;
  };
  switch (req.kind) {
    case 'snapshots': {
      const snaps = ((await data(['snapshots', runbook])).data ?? []) as { id: string; time: string; stats: { files: number; bytes: number } }[];
      const snapshots: SnapshotRow[] = snaps.map((s) => ({ id: s.id, time: s.time, files: s.stats.files, bytes: s.stats.bytes }));
      // Newest first, as people look for the latest one.
      return { kind: 'snapshots', snapshots: snapshots.sort((a, b) => b.time.localeCompare(a.time)) };
    }
    case 'list': {
      const out = (await data(['ls', runbook, req.snapshot, ...(req.path === '' ? [] : [req.path])])).data as { entries: BrowseEntry[] };
      const entries = [...out.entries].sort((a, b) => Number(b.type === 'dir') - Number(a.type === 'dir') || a.name.localeCompare(b.name));
      return { kind: 'list', entries };
    }
    case 'preview': {
      const { bytes, truncated } = await host.readHead(runbook, req.snapshot, req.path, PREVIEW_BYTES, signal);
      if (!looksLikeText(bytes)) return { kind: 'preview', lines: [], note: 'binary file: no preview (restore it, or `lifeboat dump` it to a file)' };
      const lines = new TextDecoder('utf-8', { fatal: false }).decode(bytes).split('\n').map(visible);
      return { kind: 'preview', lines, ...(truncated ? { note: `first ${PREVIEW_BYTES / 1024} KiB shown` } : {}) };
    }
    case 'find': {
      const out = (await data(['find', runbook, req.pattern, '--snapshots', 'all'])).data as { matches: FindMatch[] };
      return { kind: 'find', matches: out.matches };
    }
    case 'diff': {
      const out = (await data(['diff', runbook, req.from, req.to])).data as { changes: DiffChange[] };
      return { kind: 'diff', changes: out.changes };
    }
    case 'restore': {
      const summaries: string[] = [];
      const lines: string[] = [];
      let ok = true;
      // One restore per marked path: each keeps the command's own checks (policy, escape refusal, verification).
      for (const path of req.paths) {
        const argv = ['restore', runbook, req.snapshot, '--path', path, '--target', req.target, '--overwrite', req.policy, ...(req.dryRun ? ['--dry-run'] : [])];
        const result = await host.run(argv, signal);
        summaries.push(result.summary ?? `exit ${result.exitCode}`);
        lines.push(...(result.lines ?? []).slice(0, 20));
        if (result.exitCode !== 0) {
          ok = false;
          break;
        }
      }
      return { kind: 'restore', ok, summaries, lines };
    }
  }
}

/** Tabs as spaces, other control characters (an escape sequence) as U+FFFD: a preview never drives the terminal. */
function visible(line: string): string {
  // eslint-disable-next-line no-control-regex
  return line.replace(/\r$/, '').replace(/\t/g, '    ').replace(/[\x00-\x1f\x7f]/g, '\uFFFD');
}
