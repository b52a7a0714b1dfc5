// Imported first by entry.ts, so it runs before the CLI's own modules are
// evaluated and before any command: the main thread's young generation is
// capped from the start (src/core/repo/release-memory.ts, capYoungGeneration).
// Start-up and reading the index grew it to 16-32 MiB before a restore or a
// backup capped it, all of it resident at their peaks (issue 22).
import { capYoungGeneration } from '../core/index.js';

capYoungGeneration();
