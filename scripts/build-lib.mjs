// Builds the package into dist/: ESM and .d.ts from src/ with tsc
// (tsconfig.build.json), relative `.ts` specifiers rewritten to `.js` in the
// declarations too, and dist/kernels/metadata.json, the reflection of every
// WGSL file. dist/demo (the Vite demo build) is left alone.
// With --cli, builds the command-line package instead: packages/cli/dist,
// src/cli/main.ts and what it imports, compiled from the same sources, and the
// classifier weights of src/eval/classifiers.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
const version = (dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;

if (process.argv.includes('--cli')) {
  const cli = join(root, 'packages', 'cli');
  if (version(cli) !== version(root)) {
    throw new Error(`packages/cli/package.json has version ${version(cli)}; the library has ${version(root)}: they are released together`);
  }
  rmSync(join(cli, 'dist'), { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, '-p', join(cli, 'tsconfig.json')], { stdio: 'inherit' });
  // The sample-quality classifiers' weights, next to src/eval/classifier-files.ts's compiled form.
  cpSync(join(root, 'src', 'eval', 'classifiers'), join(cli, 'dist', 'eval', 'classifiers'), { recursive: true });
  console.log(`build-lib: packages/cli/dist written (${walk(join(cli, 'dist')).length} files)`);
  process.exit(0);
}

// Clear the previous library build (everything in dist/ but the demo).
try {
  for (const name of readdirSync(dist)) if (name !== 'demo') rmSync(join(dist, name), { recursive: true, force: true });
} catch { /* no dist yet */ }

execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

// tsc rewrites `./x.ts` to `./x.js` in emitted JavaScript but keeps it as
// written in declarations; consumers resolve `./x.js` to `./x.d.ts`.
let rewritten = 0;
for (const f of walk(dist)) {
  if (!f.endsWith('.d.ts') || f.startsWith(join(dist, 'demo'))) continue;
  const text = readFileSync(f, 'utf8');
  const fixed = text.replace(/((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]+)\.ts(['"])/g, '$1$2.js$3');
  if (fixed !== text) {
    writeFileSync(f, fixed);
    rewritten++;
  }
}

const { kernelMetadata } = await import(pathToFileURL(join(dist, 'kernels', 'metadata.js')).href);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
writeFileSync(join(dist, 'kernels', 'metadata.json'), `${JSON.stringify({ package: pkg.name, version: pkg.version, shaders: kernelMetadata() }, null, 2)}\n`);
console.log(`build-lib: dist/ written (${rewritten} declaration files with rewritten imports, kernels/metadata.json)`);
