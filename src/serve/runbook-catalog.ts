/**
 * The runbooks a long-running `serve` keeps promises for. Loaded at start,
 * re-read when a file in the runbooks folder changes (fs.watch, debounced) or
 * on SIGHUP. A runbook whose file no longer validates keeps its last good
 * version — schedules, drills and Slack requests go on with it — and an alert
 * (`runbook-invalid:<name>`) names the file, line and problem; fixing the file
 * resolves it. A deleted file drops the runbook.
 */
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { alertKey, clearStandingAlert, formatIssue, holdStandingAlert, listRunbooks, type Clock, type LifeboatConfig, type Notifier, type Runbook, type RunbookLocations, type Store } from '../core/index.js';

export const RUNBOOK_INVALID_RULE = 'runbook-invalid';

export interface RunbookCatalogOptions {
  locations: RunbookLocations;
  store(): Promise<Store>;
  notifier: Notifier;
  clock: Clock;
  /** lifeboat.yaml: routes the runbook-invalid alerts' deliveries (with the last good version's own routes when there is one). */
  config?: LifeboatConfig;
  /** Called after every reload that changed the set (and after the first load). */
  onChange(runbooks: readonly Runbook[]): void;
  log(level: 'info' | 'warn', message: string): void;
  /** Quiet time after the last file event before re-reading (editors write in several steps). */
  debounceMs?: number;
}

export interface ReloadReport {
  loaded: string[];
  /** Invalid on disk; the last good version stays in service. */
  kept: string[];
  /** Invalid on disk and never loaded: not in service. */
  rejected: string[];
  removed: string[];
}

export class RunbookCatalog {
  private readonly good = new Map<string, Runbook>();
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reloading: Promise<ReloadReport> | undefined;
  private again = false;
  /** The first load always tells onChange, even with no runbooks. */
  private first = true;

  constructor(private readonly options: RunbookCatalogOptions) {}

  /**
   * The runbooks in service. The same array while none changed: what is
   * learned from the list for a burst of fires at once (the redactor,
   * commands/support/known-secrets.ts) is recognised as the same list.
   */
  current(): readonly Runbook[] {
    const now = [...this.good.values()];
    const last = this.listed;
    if (last && last.length === now.length && last.every((r, i) => r === now[i])) return last;
    this.listed = now;
    return now;
  }

  private listed: readonly Runbook[] | undefined;

  get(name: string): Runbook | undefined {
    return this.good.get(name);
  }

  /**
   * Re-read every runbook file. Concurrent calls share one pass, and a call
   * during a pass schedules exactly one more (the file may have changed after
   * it was read).
   */
  reload(): Promise<ReloadReport> {
    if (this.reloading) {
      this.again = true;
      return this.reloading;
    }
    this.reloading = this.pass().finally(() => {
      this.reloading = undefined;
      if (this.again) {
        this.again = false;
        void this.reload();
      }
    });
    return this.reloading;
  }

  /** Watch the runbooks folder; changes are re-read after the debounce. */
  watch(): void {
    const dir = path.resolve(this.options.locations.cwd, this.options.locations.runbooksDir);
    try {
      this.watcher = watch(dir, { persistent: false }, () => this.schedule());
      this.watcher.on('error', (e) => this.options.log('warn', `lifeboat serve: watching ${dir} failed (${e.message}); send SIGHUP to reload runbooks`));
    } catch (e) {
      this.options.log('warn', `lifeboat serve: cannot watch ${dir} (${(e as Error).message}); send SIGHUP to reload runbooks`);
    }
  }

  async close(): Promise<void> {
    this.watcher?.close();
    if (this.timer) clearTimeout(this.timer);
    await this.reloading?.catch(() => undefined);
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.reload().catch((e: unknown) => this.options.log('warn', `lifeboat serve: runbook reload failed: ${(e as Error).message}`));
    }, this.options.debounceMs ?? 250);
  }

  private async pass(): Promise<ReloadReport> {
    const entries = await listRunbooks(this.options.locations);
    const report: ReloadReport = { loaded: [], kept: [], rejected: [], removed: [] };
    const alerts = { store: await this.options.store(), notifier: this.options.notifier, clock: this.options.clock, config: this.options.config };
    let changed = false;
    const seen = new Set<string>();
    for (const entry of entries) {
      seen.add(entry.name);
      const key = alertKey(RUNBOOK_INVALID_RULE, entry.name);
      if (entry.runbook && entry.issues.length === 0) {
        if (!sameRunbook(this.good.get(entry.name), entry.runbook)) changed = true;
        this.good.set(entry.name, entry.runbook);
        report.loaded.push(entry.name);
        await this.safely(() => clearStandingAlert(alerts, key, entry.runbook));
        continue;
      }
      const problems = entry.issues.map(formatIssue);
      const previous = this.good.get(entry.name);
      const shown = problems.slice(0, 3).join('; ') + (problems.length > 3 ? ` (and ${problems.length - 3} more)` : '');
      if (previous) {
        report.kept.push(entry.name);
        await this.safely(() =>
          holdStandingAlert(alerts, { key, runbook: entry.name, rule: RUNBOOK_INVALID_RULE, severity: 'warning', message: `runbook ${entry.name} no longer validates; serving its last good version: ${shown}`, routes: previous }),
        );
      } else {
        report.rejected.push(entry.name);
        await this.safely(() =>
          holdStandingAlert(alerts, { key, runbook: entry.name, rule: RUNBOOK_INVALID_RULE, severity: 'critical', message: `runbook ${entry.name} does not validate and is not scheduled: ${shown}` }),
        );
      }
      this.options.log('warn', `lifeboat serve: ${problems.join('\n')}`);
    }
    for (const name of [...this.good.keys()]) {
      if (seen.has(name)) continue;
      this.good.delete(name);
      report.removed.push(name);
      changed = true;
      await this.safely(() => clearStandingAlert(alerts, alertKey(RUNBOOK_INVALID_RULE, name)));
    }
    if (changed || this.first) this.options.onChange(this.current());
    this.first = false;
    return report;
  }



  /** An alert that cannot be written or sent is logged; it never stops the reload. */
  private async safely(work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (e) {
      this.options.log('warn', `lifeboat serve: runbook alert not recorded: ${(e as Error).message}`);
    }
  }
}

/** Loaded runbooks are plain frozen data: equal JSON means nothing a schedule or run sees has changed. */
function sameRunbook(a: Runbook | undefined, b: Runbook): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}
