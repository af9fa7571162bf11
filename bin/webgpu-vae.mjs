#!/usr/bin/env node
// Command-line entry. In a checkout of the repository it runs the TypeScript
// sources through tsx's loader; in the installed package (no src/) it runs the
// compiled dist/.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
let main;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(source.href));
} else {
  ({ main } = await import(new URL('../dist/cli/main.js', import.meta.url).href));
}
const code = await main(process.argv.slice(2));
// Dawn keeps handles open; exit explicitly once the command is done.
process.exit(code);
