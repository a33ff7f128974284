// scripts/clean-examples.mjs
// Empties .tmp/examples, so a deleted or renamed example is not run from an old build.
import { rmSync } from 'node:fs';
import { join } from 'node:path';

rmSync(join(import.meta.dirname, '..', '.tmp', 'examples'), { recursive: true, force: true });
