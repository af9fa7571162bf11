#!/usr/bin/env node
// Command-line entry: runs the TypeScript sources through tsx's loader.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv.slice(2));
// Dawn keeps handles open; exit explicitly once the command is done.
process.exit(code);
