/** Pure Block Kit builders: data in, `{ text, blocks }` out; checked against golden files. */
export * from './types.js';
export { commandResultMessage, tableLines } from './result.js';
export { problemMessage, type Problem, type ProblemKind } from './errors.js';
export { helpMessage, SLASH_USAGE } from './help.js';
export { applyRunEvent, finishRunView, initialRunView, runMessage, type RunView, type StageView } from './progress.js';
export { drillAnnouncementMessage, drillPhaseLines, drillResultBlocks, drillResultMessage } from './drill.js';
// The alert message is the Slack sink's, in core; re-exported so the face's builders are in one place.
export { ACK_ACTION_ID, alertMessage } from '../../core/index.js';
