#!/usr/bin/env node
// Command-line entry. In a checkout of the repository it runs the TypeScript
// sources through tsx's loader. The installed library leaves the command line
// and its Node-only dependencies (Dawn, the MNIST digits, PNG output) to the
// package webgpu-vae-cli: this runs it when the app has it, and otherwise
// says in one line what to run.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
let main;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(source.href));
} else {
  try {
    ({ main } = await import('webgpu-vae-cli'));
  } catch (e) {
    if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes("'webgpu-vae-cli'")) throw e;
    const args = process.argv.slice(2).join(' ');
    console.error(`webgpu-vae: the command line is the package webgpu-vae-cli (the library leaves out Dawn, the MNIST digits and PNG output): run \`npx webgpu-vae-cli${args ? ` ${args}` : ''}\`, or \`npm install webgpu-vae-cli\` and run this again`);
    process.exit(1);
  }
}
const code = await main(process.argv.slice(2));
// Dawn keeps handles open; exit explicitly once the command is done.
process.exit(code);
