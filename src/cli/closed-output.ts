/**
 * A reader that stops early (`lifeboat status | head -1`, a pager quit
 * mid-way) closes the pipe: the next write fails with EPIPE, which Node
 * raises as an 'error' event — unhandled, a crash with a stack trace. There is
 * nobody left to tell, so the error is dropped; the command itself finishes as
 * it would (a backup is not cut short because whoever read its progress went
 * away) and exits with its own code. Any other stream error still crashes.
 */
const closedPipe = new Set(['EPIPE', 'ERR_STREAM_DESTROYED']);

export function ignoreClosedOutput(streams: readonly NodeJS.WritableStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (!closedPipe.has(e.code ?? '')) throw e;
    });
  }
}
