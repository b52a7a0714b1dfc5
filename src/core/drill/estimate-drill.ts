/**
 * `restore-drill --tier cold --estimate`: what a drill from the cold tier would
 * take, without thawing, restoring or paying for anything. It plans the
 * restore (trees and index are readable at once), looks at each pack's archive
 * state (HeadObject), and forecasts thaw + transfer from the throughput this
 * runbook's drills measured (src/core/tier/thaw-restore.ts).
 *
 * It is stored as a DrillRecord with `estimated: true` and `tier: 'cold'`, so
 * `status` can show the cold RTO marked as estimated; its phases are the
 * forecast ones (thaw, fetch), and its verdict compares the forecast RTO with
 * the target (objectives.coldRto, else rto: met / missed), like a measured drill. Estimated drills never
 * feed the measured throughput (measuredThroughput skips them). An estimate
 * that cannot be made (S3 down, no such snapshot) throws and records nothing:
 * it is not a failed drill.
 */
import { formatDuration } from '../format.js';
import { openRunbookRepositoryStack } from '../repo/open-repository.js';
import { findRunbookSnapshot } from '../repo/runbook-snapshots.js';
import type { RunContext } from '../run-context.js';
import type { DrillRecord } from '../store/records.js';
import { measuredThroughput } from '../tier/estimate.js';
import { forecastColdRestore, type ColdRestoreForecast } from '../tier/thaw-restore.js';
import { coldLocationOf, thawSettingsFor } from '../tier/thaw-settings.js';
import { rtoTargetOf } from './rto-target.js';

export interface EstimateDrillInput extends RunContext {
  /** The drill's id (the harness's run id, src/core/use-cases/recorded-run.ts). */
  id: string;
  /** `latest` (default) or a snapshot id prefix. */
  snapshot?: string;
}

export interface EstimateDrillResult {
  drill: DrillRecord;
  forecast: ColdRestoreForecast;
}

export async function estimateColdDrill(input: EstimateDrillInput): Promise<EstimateDrillResult> {
  const { runbook, clock, emit, id } = input;
  const drill: DrillRecord = {
    id,
    runbook: runbook.name,
    snapshotId: '',
    tier: 'cold',
    startedAt: clock.now().toISOString(),
    verdict: 'running',
    targetMs: rtoTargetOf(runbook.objectives, 'cold'),
    phases: [],
    actor: input.actor,
    estimated: true,
  };
  coldLocationOf(runbook);
  const settings = thawSettingsFor(runbook, input.env);
  const started = clock.monotonicMs();
  const { repo, backend } = await openRunbookRepositoryStack(runbook, { env: input.env, home: input.home, emit, tier: 'cold', runId: id });
  const snapshot = await findRunbookSnapshot(repo, input.snapshot ?? 'latest', { runbook: runbook.name, foreignHint: 'a drill measures only its own runbook\'s snapshots' });
  drill.snapshotId = snapshot.id;
  const throughput = measuredThroughput(await input.store.listDrills({ runbook: runbook.name }));
  const forecast = await forecastColdRestore({
    repo,
    backend,
    snapshot,
    settings,
    targetMs: drill.targetMs,
    ...(throughput === undefined ? {} : { throughputBytesPerSec: throughput }),
  });
  // Planning was done for real: its time is measured; thaw and transfer are the forecast.
  drill.phases.push({ name: 'plan', durationMs: Math.round(clock.monotonicMs() - started) });
  drill.phases.push({ name: 'thaw', durationMs: forecast.thawMs });
  drill.phases.push({ name: 'fetch', durationMs: forecast.transferMs, bytes: forecast.bytes, throughput: Math.round(forecast.throughputBytesPerSec) });
  drill.rtoMs = drill.phases.reduce((n, p) => n + p.durationMs, 0);
  drill.verdict = drill.rtoMs > drill.targetMs ? 'missed' : 'met';
  drill.reason = `estimated: ${forecast.packs} pack(s), ${forecast.archived} archived; thaw ${formatDuration(forecast.thawMs)} + transfer ${formatDuration(forecast.transferMs)} (${forecast.throughputBasis} throughput)${drill.verdict === 'missed' ? `, over the ${formatDuration(drill.targetMs)} target` : ''}`;
  drill.endedAt = clock.now().toISOString();
  await input.store.putDrill(drill);
  emit({ type: 'drill.measured', drill });
  return { drill, forecast };
}
