#!/usr/bin/env node
// The webgpu-vae command line. Installed, it runs dist/ (compiled from the
// repository's src/cli and what it imports); in a checkout of the repository
// (packages/cli, not under node_modules) it runs the TypeScript sources
// through tsx's loader.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const source = new URL('../../../src/cli/main.ts', import.meta.url);
let main;
if (!here.split(/[\\/]/).includes('node_modules') && existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(source.href));
} else {
  ({ main } = await import(new URL('../dist/cli/main.js', import.meta.url).href));
}
const code = await main(process.argv.slice(2));
// Dawn keeps handles open; exit explicitly once the command is done.
process.exit(code);
