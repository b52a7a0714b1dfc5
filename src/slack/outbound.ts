/**
 * The last step before anything leaves the Slack face: every message it
 * posts, updates or answers with passes through {@link publicApi} or
 * {@link publicMessage}, and its log lines through {@link redactingLogger}.
 * Anyone in a channel reads a message, so
 *
 * - secret values Lifeboat knows are redacted (src/core/redaction/; commands
 *   already redact their results and events, this also covers the face's own
 *   texts, such as an unexpected error's message), and
 * - local paths are cut to their last name: `/srv/lifeboat/runbooks/app.yaml`
 *   becomes `…/app.yaml`, `file:///var/backups/app` becomes `file://…/app`.
 *   A file name still tells an operator which file; the server's layout stays
 *   on the server.
 */
import { mapStrings, type Redactor } from '../core/index.js';
import type { FaceLogger, SlackApi } from './api.js';
import type { Message } from './blocks/types.js';

const PATH_CHAR = String.raw`[^\s/'"\x60<>|:;,()\[\]{}*]`;
/** An absolute path of two or more segments, not part of a word, a URL or a relative path (`50MiB/s`, `2/5`, `a/b`). */
const ABSOLUTE_PATH = new RegExp(String.raw`(?<![\w.:/~\\-])/(?:${PATH_CHAR}+/)+${PATH_CHAR}*`, 'g');
const FILE_URL = /\bfile:\/\/(\/[^\s'"`<>|]*)/g;

/** `…/<last name>` for a path; trailing dots (end of a sentence) stay outside. */
function shortened(path: string): string {
  const [, body = path, dots = ''] = /^(.*?)(\.*)$/s.exec(path) ?? [];
  const last = body.split('/').filter((s) => s !== '').at(-1) ?? '';
  return `…/${last}${dots}`;
}

export function withoutLocalPaths(text: string): string {
  return text.replace(FILE_URL, (_m, path: string) => `file://${shortened(path)}`).replace(ABSOLUTE_PATH, (path) => shortened(path));
}

/** The message as it may be shown in a channel: secrets redacted, local paths cut. */
export function publicMessage(message: Message, secrets?: Redactor): Message {
  return mapStrings(message, (s) => withoutLocalPaths(secrets ? secrets.redact(s) : s));
}

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
