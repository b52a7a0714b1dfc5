/**
 * What may be shown in a Slack channel, where anyone in it reads a message:
 *
 * - secret values Lifeboat knows are redacted (src/core/redaction/), and
 * - local paths are cut to their last name: `/srv/lifeboat/runbooks/app.yaml`
 *   becomes `…/app.yaml`, `file:///var/backups/app` becomes `file://…/app`.
 *   A file name still tells an operator which file; the server's layout stays
 *   on the server.
 *
 * In core because both the Slack sink (./slack.ts) and the Slack face
 * (src/slack/outbound.ts) post to channels, and the rule must be one.
 */
import { mapStrings, type Redactor } from '../../redaction/redactor.js';
import type { Message } from './slack-block-kit.js';

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
