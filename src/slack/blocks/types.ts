/**
 * The Block Kit shapes and helpers the face's builders use. They live in core
 * (src/core/notify/sinks/slack-block-kit.ts) because the Slack sink posts
 * alert messages from any process; the face uses the same ones.
 */
export { codeBlock, context, escape, header, mrkdwn, section, SECTION_LIMIT, type Block, type ButtonElement, type Message, type Text } from '../../core/index.js';
