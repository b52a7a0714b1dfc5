import { resolve } from 'node:path';
import { displayPath, dump, ExitCode, fileSink, formatBytes, LifeboatError, shortId, type ByteSink, type FileSink } from '../src/core/index.js';
import { defineCommand } from './command.js';
import { bool, rawArgs, str } from './support/args.js';
import { count } from './support/browse.js';
import { loadRunbookArg } from './support/runbook-arg.js';
import { runContextFor } from './support/run-context.js';

export const dumpCommand = defineCommand({
  name: 'dump',
  summary: 'Write a file from a snapshot to stdout (a folder as a tar archive)',
  description:
    'A file\'s contents go to stdout as they are (verified as they are read); a folder, or "/" for the whole snapshot, goes as a pax tar archive whose names start at the folder\'s own name, with modes, mtimes, symlinks and empty folders. On a terminal, binary data (a tar, a file that is not text) is refused unless --force. --output FILE writes to a file instead (replaced only once the dump is complete; an existing file only with --force): the way to dump from the console, or with --json. A file whose data cannot be read is named on stderr (exit 3): left out of the tar, or zero-filled when found damaged half-way.',
  options: {
    output: { type: 'string', short: 'o', description: 'write to this file instead of stdout', valueName: 'FILE' },
    force: { type: 'boolean', short: 'f', description: 'write binary data to a terminal; replace an existing --output file' },
  },
  positionals: [
    { name: 'runbook', description: 'runbook name or path to a YAML file', required: true },
    { name: 'snapshot', description: 'snapshot id or prefix, or latest', required: true },
    { name: 'file', description: 'the file or folder inside the snapshot, e.g. data/etc/app.yaml ("/" for everything)', required: true },
  ],
  schema: rawArgs.transform((r) => ({
    runbook: r.positionals[0]!,
    snapshot: r.positionals[1]!,
    file: r.positionals[2]!,
    output: str(r.options.output),
    force: bool(r.options.force),
  })),
  // Reads contents, like restore: the same list decides who may.
  access: 'drill',
  runbookOf: (a) => a.runbook,
  async run(args, ctx) {
    const runbook = await loadRunbookArg(args.runbook, ctx);
    const run = await runContextFor(runbook, ctx);
    let file: FileSink | undefined;
    let sink: ByteSink;
    if (args.output !== undefined) {
      sink = file = await fileSink(resolve(ctx.cwd, args.output), { overwrite: args.force });
    } else if (ctx.output !== undefined) {
      sink = ctx.output;
    } else {
      throw new LifeboatError('USAGE', 'dump: this face has no stdout for the contents (the console and Slack show text, and --json prints its result there): give --output FILE');
    }
    let out;
    try {
      out = await dump({ ...run, snapshot: args.snapshot, path: args.file, sink, force: args.force });
      await file?.commit();
    } catch (e) {
      await file?.discard();
      throw e;
    }
    const what = out.format === 'tar' ? `${displayPath(out.path === '' ? '/' : out.path)} as a tar (${count(out.files, 'file')}, ${count(out.dirs, 'folder')}, ${count(out.symlinks, 'symlink')})` : displayPath(out.path);
    const partial = out.damaged.length > 0;
    return {
      exitCode: partial ? ExitCode.partial : ExitCode.ok,
      // On stdout the bytes are the result: nothing else may be printed there (a partial dump says so on stderr).
      ...(file !== undefined || partial
        ? { summary: `${partial ? 'partly dumped' : 'dumped'} ${what} from snapshot ${shortId(out.snapshot.id)}: ${formatBytes(out.bytes)}${file !== undefined ? ` to ${args.output}` : ''}${partial ? `; ${count(out.damaged.length, 'file')} damaged` : ''}` }
        : {}),
      lines: out.damaged.map((d) => `damaged: ${displayPath(d.path)}: ${d.error}`),
      data: {
        snapshot: { id: out.snapshot.id, time: out.snapshot.time },
        path: out.path,
        format: out.format,
        bytes: out.bytes,
        files: out.files,
        dirs: out.dirs,
        symlinks: out.symlinks,
        damaged: out.damaged,
        ...(args.output === undefined ? {} : { output: resolve(ctx.cwd, args.output) }),
      },
    };
  },
});
