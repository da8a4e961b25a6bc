#!/usr/bin/env node
// Entry point of the `umqtt` executable (`pnpm build`: dist/cli/main.js; the tests bundle it with scripts/bundle-cli.mjs).
import { processIo } from './io.js';
import { run } from './run.js';

const code = await run(process.argv.slice(2), processIo());
// Let stdout and stderr drain (pipes are asynchronous on some systems), then exit even if a
// socket or timer is still open.
await Promise.all(
  [process.stdout, process.stderr].map((s) => new Promise<void>((resolve) => s.write('', () => resolve()))),
);
process.exit(code);
