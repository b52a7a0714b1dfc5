/**
 * A failed read or write of the state file, said as an operator needs it: what
 * happened, which path, what to do. Node's own messages (`ENOSPC: no space left
 * on device, write`, `EISDIR: illegal operation on a directory, read`) name
 * neither the file nor a way out; the errno stays in `details` and `cause`.
 */
import { dirname } from 'node:path';
import { LifeboatError } from '../errors.js';

export type StateAccess = 'read' | 'write';

/** Where the state folder is set, for the "what to do" of every message. */
const pointElsewhere = 'or point the state folder elsewhere (LIFEBOAT_HOME, or home in lifeboat.yaml)';

/**
 * Wraps an fs error met on `path` (the state file, or a file beside it: its
 * temp file, its lock). A LifeboatError passes through unchanged: it already
 * says what and where.
 */
export function stateIoError(e: unknown, path: string, access: StateAccess, purpose?: string): unknown {
  if (e instanceof LifeboatError || !(e instanceof Error)) return e;
  const code = (e as NodeJS.ErrnoException).code ?? '';
  const folder = dirname(path);
  const verb = access === 'read' ? 'read' : 'write';
  const explain: Record<string, string> = {
    ENOSPC: `the filesystem that holds ${folder} is full (ENOSPC). The state file keeps what it held before this write. Free space there, ${pointElsewhere}`,
    EDQUOT: `the disk quota of the filesystem that holds ${folder} is used up (EDQUOT). The state file keeps what it held before this write. Free space there, ${pointElsewhere}`,
    EISDIR: `${path} is a folder, not a file. Lifeboat keeps its history in that one file: move the folder away (mv '${path}' '${path}.folder'), ${pointElsewhere}`,
    ENOTDIR: `a part of ${folder} is a file, not a folder. Move that file away, ${pointElsewhere}`,
    EACCES: `permission denied (EACCES) for this user (uid ${process.getuid?.() ?? '?'}). Run Lifeboat as the user that owns ${folder}, fix its permissions, ${pointElsewhere}`,
    EPERM: `operation not permitted (EPERM) for this user (uid ${process.getuid?.() ?? '?'}). Run Lifeboat as the user that owns ${folder}, ${pointElsewhere}`,
    EROFS: `the filesystem that holds ${folder} is read-only (EROFS). Remount it read-write, ${pointElsewhere}`,
    EIO: `the disk reported an I/O error (EIO). Check the device that holds ${folder} (dmesg), ${pointElsewhere}`,
  };
  const why = explain[code] ?? `${e.message}. Check ${folder}, ${pointElsewhere}`;
  return new LifeboatError('STORE_IO', `Could not ${verb} the state file ${path}${purpose === undefined ? '' : ` to ${purpose}`}: ${why}.`, {
    cause: e,
    // A full disk or a quota may clear; a folder in the file's place or a permission will not by itself.
    retryable: code === 'ENOSPC' || code === 'EDQUOT' || code === 'EIO',
    details: { path, errno: code, access },
  });
}
