/**
 * The engine's surface: everything commands/ and the faces (src/cli, src/tui,
 * src/slack, src/serve) may import from src/core. Anything not exported here
 * is a core part, reachable only from inside core; eslint.config.js holds
 * commands and faces to this file (no-restricted-imports) and
 * test/architecture/import-graph.test.ts walks the imports to prove it.
 *
 * Operator actions go through the use cases (src/core/use-cases/): each
 * declares its repository lock and whether it records a run, and one harness
 * (recordedRun) takes the lock, records, closes abandoned runs and finishes.
 */

// Errors, exit codes, time, events, formatting: the vocabulary every face shares.
export { ExitCode, LifeboatError, describeError, isLifeboatError, type ErrorCode } from './errors.js';
export { clockFromEnv, systemClock, type Clock } from './clock.js';
export type { EngineEvent, EventSink, ProgressCounters } from './events.js';
export { formatAge, formatBytes, formatDuration, formatRate, formatTime } from './format.js';
export { currentUser } from './process-info.js';
export { closestName, didYouMean } from './did-you-mean.js';
export type { RunContext } from './run-context.js';

// Runbooks.
export {
  assertExampleCanRun,
  findRunbookFile,
  formatIssue,
  isTemplateKind,
  lifeboatInstallRoot,
  listRunbooks,
  loadRunbook,
  TEMPLATE_KINDS,
  writeNewRunbook,
  parseDuration,
  parsePercentage,
  validateRunbookFile,
  type RunbookEntry,
  type RunbookIssue,
  type RunbookLocations,
  type Runbook,
  type StorageClass,
} from './runbook/index.js';
export type { RetrievalTier } from './runbook/types.js';

// State: the store and its records.
export { groupByRunbook, openJsonStore, type Store } from './store/index.js';
export type { Actor, AlertRecord, AuditRecord, DrillBrief, DrillRecord, ErrorInfo, RunBrief, RunRecord, RunStatus, Severity, StageName, StageStatus } from './store/records.js';

// Secrets kept in.
export { knownSecrets, mapStrings, redactingSink, redactingStore, type Redactor } from './redaction/index.js';

// Alerts.
export {
  alertKey,
  ago,
  clearStandingAlert,
  compactDuration,
  evaluateAlerts,
  evaluateAll,
  eventNotifier,
  fanOutNotifier,
  holdStandingAlert,
  runbookOfAlertKey,
  severityLabel,
  type Notifier,
} from './alerts/index.js';
export { finishedDrills, measuredDrills, runTime } from './alerts/rule.js';

// Where each runbook stands (status, the console, /metrics): one definition of each fact.
export { backupTakenAt, GOOD_BACKUP_WINDOW, goodBackupStatuses, isGoodBackup, lastGoodBackup, rpoState, type RpoStanding, type RpoState } from './status/rpo.js';
export { readStatus, readStatusRecords, runbookStatus, statusOfAll, type ColdTierStatus, type RtoStatus, type RunSummary, type StatusEntry, type StatusRunbook } from './status/runbook-status.js';
export { historyKinds, isDrillEntry, parseHistoryKind, readHistory, type HistoryEntry, type HistoryKind, type HistoryQuery } from './status/history.js';
export { describeStateStore, nothingRecordedNote, refuseNothingHere, storeIsEmpty, type Whereabouts } from './status/nothing-here.js';
export { auditedRunbook } from './store/audit-runbook.js';

// Schedule.
export { FileScheduleState, Scheduler, describeSkip, formatZoned, nextFire, nextRuns, scheduleStatePath, systemTimers, type Job, type SkipReason } from './schedule/index.js';
// A concurrency limit (waiters in arrival order), for callers pacing work against a small pool.
export { Semaphore } from './backends/throttle-backend.js';

// Several serves on one PostgreSQL store: the leader lease and where it is kept.
export { Leadership, type LeaderLease, type LeaderTerm, type LeadershipView } from './schedule/leadership.js';
export type { ScheduleState } from './schedule/state.js';
export { openServeCoordination, type ServeCoordination } from './store/serve-coordination.js';

// Repository facts a face renders.
export { shortId } from './repo/snapshot.js';
export { defaultPackSize } from './repo/format.js';
export { stagingUsage, type StagingUsage } from './repo/staging-usage.js';
export type { CheckOutcome } from './repo/checker.js';
export type { PruneOutcome } from './repo/prune.js';
export { describeRetentionWaits, type RetentionWaits } from './repo/locked-prune.js';
export { lockedTiers, maintain, type MaintainInput, type MaintainResult, type MaintainedTier } from './use-cases/maintain.js';
export { renderRetentionPlan } from './pipeline/retention-policy.js';

// Cold tier facts a face renders.
export { estimateColdRestore, type ColdRestoreEstimate } from './tier/estimate.js';
export { monthlyStorageCostUsd, PRICES_AS_OF } from './copies/storage-prices.js';
export type { CopyStatus } from './copies/copy-status.js';
export { findCopy, runbookForCopy } from './copies/copy-runbook.js';
export { hasLockedLocation, lockedCopies } from './copies/locked-locations.js';
export { estimateStorage, locationCost, storageTotal, type LocationCost, type StorageEstimate } from './use-cases/storage-estimate.js';
export { fillCopiesNow, type CopyInput } from './use-cases/copy.js';
export { describeThawOutcome, describeThawProgress, type ThawForRestoreResult } from './tier/thaw-restore.js';

// The run lock, for hosts that must be alone in a state folder (serve).
export { RunLock } from './runs/run-lock.js';

// Operator actions: one use case each, run by one harness under its declared policy.
export { policies, type UseCasePolicy } from './use-cases/policies.js';
export type { LockMode } from './runs/repository-lock.js';
export { backup, type BackupInput, type BackupResult } from './use-cases/backup.js';
export { resume, type ResumeResult } from './use-cases/resume.js';
export { tier, type TierInput, type TierResult } from './use-cases/tier.js';
export { estimateRestore, restore, type EstimateRestoreInput, type EstimateRestoreResult, type RestoreInput, type RestoreResult } from './use-cases/restore.js';
export { overwritePolicies, type OverwritePolicy, type RestoreChange } from './repo/restore-preview.js';
export { drill, estimateDrill, type DrillInput } from './use-cases/drill.js';
export { drillPath, isPathDrill, newestWholeDrills, wholeDrills } from './drill/drill-scope.js';
export { check, type CheckInput, type CheckResult } from './use-cases/check.js';
export { forget, type ForgetInput } from './use-cases/forget.js';
export { migrate } from './use-cases/migrate.js';
export { repairIndex } from './use-cases/repair-index.js';
export { init, type InitResult } from './use-cases/init.js';
export { snapshots } from './use-cases/snapshots.js';

// Records' ids (runs, drills, audit entries).
export { newRecordId } from './ids.js';

// lifeboat.yaml and alert delivery (issue 17). Each part adds its exports in its own block below.
export { DEFAULT_REPEAT_MS, defaultConfig, type LifeboatConfig, type SinkConfig } from './config/types.js';
export { SinkError, type Sink, type SinkMessage } from './notify/sink.js';
export type { AlertTransition, DeliveryReceipt, DeliveryRecord } from './store/records.js';

// The Slack sink, and the Block Kit shapes and channel rules the Slack face shares with it (issue 17).
export { slackSink, SLACK_API_URL, type SlackSinkOptions } from './notify/sinks/slack.js';
export { ACK_ACTION_ID, alertMessage } from './notify/sinks/slack-alert-message.js';
export { codeBlock, context, escape, header, mrkdwn, section, SECTION_LIMIT, type Block, type ButtonElement, type Message, type Text } from './notify/sinks/slack-block-kit.js';
export { publicMessage, withoutLocalPaths } from './notify/sinks/slack-public.js';

// The alert outbox: routing, retry backoff (issue 17, engineer A).
export { alertRoutes, deliveriesFor, IMPLICIT_SLACK_SINK, severityRank, sinksFor, toldSinks, type TransitionInput } from './notify/routing.js';
export { retryDelayMs } from './notify/backoff.js';
export { DEFAULT_LEASE_MS, deliverDue, outboxOwner, startOutboxLoop, type DeliverDueOptions, type DeliveryCounts, type DeliveryProblem, type OutboxLoop, type OutboxLoopOptions } from './notify/outbox.js';
export type { ClaimedDelivery, ClaimOptions, DeliveryListOptions, DeliveryResult } from './store/store.js';

// lifeboat.yaml, the non-Slack sinks, building a process's sinks, and the dead man's switch (issue 17).
export { checkConfigText, configCandidates, findConfig, loadConfig, SYSTEM_CONFIG_FILE, type ConfigCheck, type ConfigLocations } from './config/load.js';
export { SINK_TYPES } from './config/schema.js';
export { resolvePlaces, type PlaceInputs, type Places, type PlaceSource } from './config/places.js';
export type { AlertRoute } from './runbook/types.js';
export { buildSinks, LIFEBOAT_VERSION, type BuildSinksOptions, type BuiltSinks, type UnavailableSink } from './config/sinks.js';
export { webhookSignature, webhookSink, type WebhookSinkOptions } from './notify/sinks/webhook.js';
export { ntfySink, type NtfySinkOptions } from './notify/sinks/ntfy.js';
export { pagerDutySink, type PagerDutySinkOptions } from './notify/sinks/pagerduty.js';
export { emailSink, type EmailSinkOptions } from './notify/sinks/email.js';
// The PostgreSQL store (issue 18): opened by URL; migrations applied on request (serve start, `lifeboat store migrate`).
export { assertSchemaCurrent, latestSchemaVersion, migratePostgres, openPostgresStore, PostgresStore, type MigrationResult, type PostgresStoreOptions } from './store/index.js';
// Which store a process uses (lifeboat.yaml store:, LIFEBOAT_STORE_URL, else the JSON file), `store migrate` and `store import`.
export { COMMAND_STORE_CONNECTIONS, importState, migrateConfiguredStore, openConfiguredStore, readStateFileForImport, STORE_URL_ENV, storeSetting, type ImportCounts, type StoreMigration, type StoreSetting } from './store/index.js';
// State store outages: what is spooled while PostgreSQL is unreachable, and how a face tells that error apart.
export { isStoreUnreachable, spoolDirOf, SpoolingStore, storeUnreachableError } from './store/index.js';
// Browsing snapshots (issue 20): ls, find, diff, dump over a runbook's own snapshots.
export { diff, dump, find, ls, type DiffInput, type DumpInput, type FindInput, type LsInput } from './use-cases/browse.js';
export { displayPath, modeString, type BrowseEntry } from './browse/entry.js';
export type { DiffChange, DiffKind, DiffTotals } from './browse/diff.js';
export { looksLikeText, type ByteSink, type DumpOutcome } from './browse/dump.js';
export { fileSink, type FileSink } from './browse/file-sink.js';
export { parseSizeFilter, type FindChange, type FindMatch, type FindSighting } from './browse/find.js';
export { describeWindow, parseSnapshotWindow, parseWhen, type SnapshotWindow } from './browse/snapshot-window.js';
// The fleet (issue 19): which host this is, whether a runbook runs here, and the hosts registry agents heartbeat into.
export { HOST_ENV, localHostName, runsHere } from './fleet/host-name.js';
export { DEFAULT_LOST_AFTER_MS, HostRegistry, type HostAvailability, type HostBeat, type HostRecord, type HostState } from './fleet/hosts.js';
export { openHostRegistry } from './fleet/open-hosts.js';
export { AGENT_DOWN_RULE, agentDownKey, AGENT_LOST_CODE, AgentWatch, DEFAULT_NO_AGENT_GRACE_MS, hostOfAgentDownKey, type AgentWatchOptions, type AgentWatchPass } from './fleet/lost-agents.js';
export { runbooksByHost } from './fleet/runbooks-by-host.js';
export { hostsView, readHostsView, type HostRunbookView, type HostsView, type HostView, type HostViewState } from './fleet/hosts-view.js';
// The fleet's jobs (issue 19): the queue per host (pg-boss), the job a runbook travels in, a remote run's live events and cancel.
export { FleetQueue, FLEET_QUEUE_SCHEMA, queueOfHost, type FleetJobState, type FleetJobStatus, type TakenJob } from './fleet/queue.js';
export { checkFleetJob, commandOfFleetKind, FLEET_JOB_KINDS, fleetKindOfCommand, sha256Hex, type FleetJob, type FleetJobKind, type FleetJobOutcome } from './fleet/job.js';
export { followLive, hostWakeChannel, jobCancelChannel, jobEventsChannel, publishLive, type LivePublisher } from './fleet/live-events.js';
export { PgChannels } from './fleet/pg-channels.js';
export { acquireFleetLink, closeFleetLinks, keepFleetLinksOpen, openFleetLinks, type FleetLink } from './fleet/shared-fleet-link.js';
export { derivedKeyCounts, forgetDerivedKeys, rememberDerivedKeys } from './repo/derived-key-memo.js';
export { keepIdleRepositoryWorker } from './repo/worker-pool.js';
export { capYoungGeneration } from './repo/release-memory.js';
export { batchedPerTurn } from './batch-per-turn.js';
export { runbookOfJob } from './fleet/job-runbook.js';
export { fanOut } from './events.js';
export { storeUrl } from './store/open-store.js';
export { hostNameProblem } from './runbook/host-field.js';
