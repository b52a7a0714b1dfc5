/**
 * What the scheduler remembers across restarts: for each runbook and kind, the
 * last cron fire it handled (ran, or skipped and reported). A restart compares
 * that with the fires since, to catch up once or report the miss.
 *
 * One small JSON file under LIFEBOAT_HOME, replaced whole and durably on every
 * change. Only one scheduler (one `lifeboat serve`) may use a home at a time;
 * the caller holds whatever lock guarantees that.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LifeboatError } from '../errors.js';
import { readTextIfExists, replaceFileDurably } from '../store/durable-file.js';
import { scheduleKinds, type ScheduleKind } from './job.js';

export interface ScheduleState {
  /** The last fire handled for this runbook and kind, or undefined when the scheduler has never seen the pair. */
  lastHandled(runbook: string, kind: ScheduleKind): Date | undefined;
  /**
   * Records `scheduledAt` as handled; resolves once it is durable. Resolves
   * false when the fire is not this scheduler's to run: another scheduler
   * sharing the state (serve on another machine) handled it, or this one no
   * longer leads. The file state is never shared and always says true.
   */
  markHandled(runbook: string, kind: ScheduleKind, scheduledAt: Date): Promise<boolean>;
  /**
   * Several fires in one transaction (a shared state: one statement, so a
   * takeover finds all of them marked or none); answers what markHandled
   * would for each, in order. Optional: a state without it is claimed one
   * fire at a time (src/serve/paced-claims.ts).
   */
  markHandledAll?(fires: readonly HandledFire[]): Promise<boolean[]>;
}

/** One fire to mark handled (ScheduleState.markHandledAll). */
export interface HandledFire {
  runbook: string;
  kind: ScheduleKind;
  scheduledAt: Date;
}

export const scheduleStateFormat = 'lifeboat-schedule';
export const scheduleStateVersion = 1;

interface ScheduleStateFile {
  format: typeof scheduleStateFormat;
  version: typeof scheduleStateVersion;
  /** runbook name → kind → ISO time of the last handled fire. */
  handled: Record<string, Partial<Record<ScheduleKind, string>>>;
}

export function scheduleStatePath(home: string): string {
  return join(home, 'schedule.json');
}

export class FileScheduleState implements ScheduleState {
  /** Writes go one after another, each with the whole current map, so the file never goes back in time. */
  private writes: Promise<void> = Promise.resolve();
  /** A write that has not started yet: later marks join it instead of each costing an fsync (a first start records every pair). */
  private queued: Promise<void> | undefined;

  private constructor(
    readonly path: string,
    private readonly handled: Map<string, Map<ScheduleKind, Date>>,
  ) {}

  /** Reads the file (a missing file is an empty state); throws STORE_CORRUPT, naming the file, when it is not a schedule state. */
  static async open(path: string): Promise<FileScheduleState> {
    const text = await readTextIfExists(path);
    return new FileScheduleState(path, text === undefined ? new Map() : parseScheduleState(text, path));
  }

  lastHandled(runbook: string, kind: ScheduleKind): Date | undefined {
    return this.handled.get(runbook)?.get(kind);
  }

  async markHandled(runbook: string, kind: ScheduleKind, scheduledAt: Date): Promise<boolean> {
    let kinds = this.handled.get(runbook);
    if (!kinds) this.handled.set(runbook, (kinds = new Map()));
    kinds.set(kind, scheduledAt);
    if (!this.queued) {
      const write = this.writes.then(() => {
        this.queued = undefined;
        return this.write();
      });
      this.queued = write;
      // A failed write is the caller's to report; the next write still goes ahead.
      this.writes = write.catch(() => {});
    }
    await this.queued;
    return true;
  }

  private async write(): Promise<void> {
    const file: ScheduleStateFile = { format: scheduleStateFormat, version: scheduleStateVersion, handled: {} };
    for (const [runbook, kinds] of [...this.handled].sort(([a], [b]) => a.localeCompare(b))) {
      file.handled[runbook] = Object.fromEntries(scheduleKinds.flatMap((k) => (kinds.has(k) ? [[k, kinds.get(k)!.toISOString()]] : [])));
    }
    await mkdir(dirname(this.path), { recursive: true });
    await replaceFileDurably(this.path, `${JSON.stringify(file, null, 2)}\n`);
  }
}

function corrupt(path: string, what: string): LifeboatError {
  return new LifeboatError(
    'STORE_CORRUPT',
    `Schedule state ${path} is damaged: ${what}. It is left untouched. Remove it to start over: ` +
      'the scheduler then treats every schedule as new (nothing missed is caught up, nothing runs twice).',
    { details: { path } },
  );
}

function parseScheduleState(text: string, path: string): Map<string, Map<ScheduleKind, Date>> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw corrupt(path, text.trim() === '' ? 'the file is empty' : `not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(data) || data.format !== scheduleStateFormat) throw corrupt(path, `not a Lifeboat schedule state (expected "format": "${scheduleStateFormat}")`);
  if (data.version !== scheduleStateVersion) {
    throw corrupt(path, `"version" is ${JSON.stringify(data.version)} (this Lifeboat reads version ${scheduleStateVersion})`);
  }
  if (!isObject(data.handled)) throw corrupt(path, '"handled" is not an object');
  const handled = new Map<string, Map<ScheduleKind, Date>>();
  for (const [runbook, kinds] of Object.entries(data.handled)) {
    if (!isObject(kinds)) throw corrupt(path, `handled.${runbook} is not an object`);
    const byKind = new Map<ScheduleKind, Date>();
    for (const [kind, iso] of Object.entries(kinds)) {
      if (!(scheduleKinds as readonly string[]).includes(kind)) throw corrupt(path, `handled.${runbook}.${kind}: unknown kind (expected ${scheduleKinds.join(', ')})`);
      const at = typeof iso === 'string' ? new Date(iso) : undefined;
      if (!at || Number.isNaN(at.getTime())) throw corrupt(path, `handled.${runbook}.${kind} is not an ISO time: ${JSON.stringify(iso)}`);
      byKind.set(kind as ScheduleKind, at);
    }
    handled.set(runbook, byKind);
  }
  return handled;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
