// The process entry: run main, then exit with its code once output is flushed.
// A cancelled command exits at once: uploads it abandoned may still hold sockets
// open (until the S3 client's idle timeout), and nothing of theirs is needed.
import './cap-young-generation.js'; // first: before the rest of the bundle is evaluated
import { ignoreClosedOutput } from './closed-output.js';
import { main } from './main.js';

ignoreClosedOutput();
const code = await main(process.argv.slice(2));
process.exitCode = code;
if (code === 130) process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
