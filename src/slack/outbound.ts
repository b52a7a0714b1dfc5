/**
 * The last step before anything leaves the Slack face: every message it
 * posts, updates or answers with passes through {@link publicApi} or
 * {@link publicMessage}, and its log lines through {@link redactingLogger}.
 * Anyone in a channel reads a message, so
 *
 * - secret values Lifeboat knows are redacted (commands already redact their
 *   results and events, this also covers the face's own texts, such as an
 *   unexpected error's message), and
 * - local paths are cut to their last name.
 *
 * The rule itself (publicMessage, withoutLocalPaths) lives in core
 * (src/core/notify/sinks/slack-public.ts): the Slack sink posts alerts with it.
 */
import { publicMessage, type Redactor } from '../core/index.js';
import type { FaceLogger, SlackApi } from './api.js';

// One rule for what a channel may see, shared with the Slack sink in core.
export { publicMessage, withoutLocalPaths } from '../core/index.js';

/** The Web API port with every outgoing message made public first. */
export function publicApi(api: SlackApi, secrets: () => Redactor | undefined): SlackApi {
  return {
    postMessage: (channel, message, options) => api.postMessage(channel, publicMessage(message, secrets()), options),
    update: (channel, ts, message) => api.update(channel, ts, publicMessage(message, secrets())),
    postEphemeral: (channel, user, message) => api.postEphemeral(channel, user, publicMessage(message, secrets())),
    listUsergroups: () => api.listUsergroups(),
    usergroupMembers: (id) => api.usergroupMembers(id),
  };
}

/** The face's log (serve's stderr) with known secrets redacted from its lines and errors. */
export function redactingLogger(logger: FaceLogger, secrets: () => Redactor | undefined): FaceLogger {
  const clean = (args: unknown[]) =>
    args.map((a) => {
      const r = secrets();
      if (!r) return a;
      if (typeof a === 'string') return r.redact(a);
      if (a instanceof Error) return r.redact(a.stack ?? a.message);
      return a;
    });
  return { warn: (...args) => logger.warn(...clean(args)), error: (...args) => logger.error(...clean(args)) };
}
