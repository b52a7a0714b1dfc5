/** What the rest of Lifeboat may import from the schedule module. */
export { cronSchedule, nextFire, previousFire, type CronSchedule } from './cron.js';
export { describeSkip, scheduledKinds, scheduleKinds, type Job, type ScheduleKind, type SkipReason } from './job.js';
export { nextRuns, type UpcomingRun } from './next-runs.js';
export { Scheduler, type SchedulerOptions } from './scheduler.js';
export { FileScheduleState, scheduleStatePath, type ScheduleState } from './state.js';
export { alarmAt, FakeTimers, MAX_TIMER_MS, systemTimers, type Alarm, type Timers } from './timers.js';
export { formatZoned } from './zoned-time.js';
