/**
 * Stream sources: a command whose standard output is the backup (pg_dump,
 * sqlite3 .dump, mysqldump). The bytes go through a plain pipe (binary-safe;
 * a pty would mangle them), are chunked like any file and stored on the main
 * thread; the result is one file node named after the source. A non-zero
 * exit fails the source and keeps the tail of its stderr.
 *
 * The command runs with the child environment policy (src/core/child/):
 * the allowlist plus the source's own `env:`, never Lifeboat's whole
 * environment. Its stderr and command line go into the error as they are;
 * the redacting store and event sink take secrets out before they leave.
 */
import { childEnvironment } from '../child/child-env.js';
import { runPiped } from '../child/run-piped.js';
import { LifeboatError } from '../errors.js';
import { Chunker } from './chunker.js';
import type { Repository } from './repository.js';
import type { TreeNode } from './tree.js';
import type { CommandSource } from '../runbook/types.js';

export interface StreamBackupResult {
  node: TreeNode;
  bytes: number;
  bytesNew: number;
  bytesStored: number;
}

const STDERR_TAIL = { chars: 4096, lines: 10 };

export async function backupStream(
  repo: Repository,
  source: CommandSource,
  options: {
    /** Lifeboat's own environment; the command gets the child policy's view of it. */
    env: Readonly<Record<string, string | undefined>>;
    cwd: string;
    time: Date;
    isNew: (id: string) => boolean;
    signal?: AbortSignal;
    onBytes?: (bytes: number) => void;
  },
): Promise<StreamBackupResult> {
  const chunker = new Chunker(repo.key.chunkerSeed, repo.config.chunker);
  const max = repo.config.chunker.maxSize;
  let buffer = Buffer.allocUnsafe(max * 2);
  let start = 0;
  let end = 0;
  const content: string[] = [];
  let bytes = 0;
  let bytesNew = 0;
  let bytesStored = 0;

  const storeChunks = async (final: boolean) => {
    for (;;) {
      // Cut once a max-size window is held: offered less, cut would rescan the same bytes on every piece.
      if (!final && end - start < max) return;
      const length = chunker.cut(buffer, start, end - start, final);
      if (length === 0) return;
      const saved = await repo.saveBlob('data', buffer.subarray(start, start + length), options.isNew);
      content.push(saved.id);
      if (saved.isNew) bytesNew += length;
      bytesStored += saved.stored;
      start += length;
      if (start === end) return;
    }
  };

  const env = await childEnvironment({ parent: options.env, optIn: source.env, where: `sources[${source.name}].env` });
  // Cancelling stops the whole process group (the runner's stop), so a pipeline stops whole.
  const ended = await runPiped(source.command, {
    cwd: options.cwd,
    env,
    signal: options.signal,
    tail: STDERR_TAIL,
    readStdout: async (stdout) => {
      for await (const piece of stdout) {
        if (end + piece.length > buffer.length) {
          // Keep the unchunked tail at the front; grow only if one read is unusually large.
          const keep = end - start;
          const next = keep + piece.length > buffer.length ? Buffer.allocUnsafe(keep + piece.length + max) : buffer;
          buffer.copy(next, 0, start, end);
          buffer = next;
          start = 0;
          end = keep;
        }
        piece.copy(buffer, end);
        end += piece.length;
        bytes += piece.length;
        options.onBytes?.(piece.length);
        if (end - start >= max) await storeChunks(false);
      }
      await storeChunks(true);
    },
  });
  if (ended.cancelled || options.signal?.aborted) throw new LifeboatError('CANCELLED', `source ${source.name} cancelled`);
  if (ended.code !== 0) {
    const tail = ended.tail.join('\n');
    throw new LifeboatError(
      'SOURCE_FAILED',
      `source ${source.name}: \`${source.command}\` ${ended.signal ? `was killed by ${ended.signal}` : `exited with ${ended.code}`}${tail ? `; stderr: ${tail}` : ''}`,
      { details: { exitCode: ended.code, signal: ended.signal, stderrTail: tail } },
    );
  }
  const now = options.time.getTime();
  return {
    node: { name: source.name, type: 'file', mode: 0o600, mtimeMs: now, size: bytes, content },
    bytes,
    bytesNew,
    bytesStored,
  };
}
