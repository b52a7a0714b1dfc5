/** `/backup help`: every form of both slash commands. */
import { context, section, type Message } from './types.js';

export const SLASH_USAGE: readonly string[] = [
  '`/backup <runbook>` — back up a runbook now (needs `access.backup`)',
  '`/backup list` — the runbooks: what each protects, and its health',
  '`/backup status [runbook]` — last backup against the RPO, last drill RTO against the target, open alerts',
  '`/backup help` — this message',
  '`/restore-drill <runbook> [snapshot]` — timed restore into scratch space, validated: measures the RTO (needs `access.drill`)',
  '`/restore-drill <runbook> [snapshot] <path>` — drill one path (e.g. `data/etc/app.yaml`; quote one with spaces): is it there, does it come back intact, how fast',
];

export function helpMessage(): Message {
  return {
    text: 'Lifeboat commands: /backup <runbook>|list|status [runbook]|help, /restore-drill <runbook> [snapshot] [path]',
    blocks: [
      section('*Lifeboat* — backups, restore drills and alerts'),
      section(SLASH_USAGE.join('\n')),
      context('Only people and groups in a runbook’s `access` lists may start a backup or a drill; every request is audited.'),
    ],
  };
}
