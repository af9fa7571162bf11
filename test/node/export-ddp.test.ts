/**
 * Scale-out through PyTorch: `export --pytorch` of a run writes a project
 * whose train.py runs DistributedDataParallel with 2 processes on CPU (gloo,
 * Debian's python3-torch, self-launched through torch.multiprocessing.spawn);
 * the trained file is read back by webgpu-vae (the CLI's eval, and
 * decodeModelFile, the studio's loader), and its test ELBO as webgpu-vae
 * computes it agrees with the PyTorch script's own evaluation within
 * sampling noise. Unsupported layers and bad folders are refused.
 */
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { decodeModelFile } from '../../src/io/model-file.ts';
import { expect } from '../support/check.ts';

const BIN = new URL('../../bin/webgpu-vae.mjs', import.meta.url).pathname;
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'webgpu-vae-export-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const jsonLines = (s: string) => s.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));

test('export --pytorch: 2-process DistributedDataParallel training, read back by webgpu-vae with the same ELBO', { timeout: 900_000 }, async () => {
  const run = join(dir, 'run');
  cpSync(new URL('../fixtures/run-v1-mlp', import.meta.url).pathname, run, { recursive: true });
  const ex = await cli(['export', run, '--pytorch', 'torch']);
  expect(ex.code === 0, `export exited ${ex.code}: ${ex.stderr}`);
  const proj = join(dir, 'torch');
  for (const f of ['model.py', 'train.py', 'config.json', 'model.safetensors', 'README.md', 'data/train.npy', 'data/test.npy', 'data/train-labels.npy']) expect(existsSync(join(proj, f)), `the project has ${f}`);
  const py = promisify(execFile);
  const { stdout } = await py(PYTHON, ['train.py', '--nproc', '2', '--init', 'model.safetensors', '--steps', '300', '--log-every', '100', '--out', 'trained.safetensors'], { cwd: proj, timeout: 600_000 });
  const logs = jsonLines(stdout);
  const steps = logs.filter((l) => l.step !== undefined);
  expect(steps.length === 3 && steps.every((l) => l.processes === 2), `train.py log: ${stdout}`);
  // The studio's loader: the file carries the model definition.
  const file = decodeModelFile(new Uint8Array(readFileSync(join(proj, 'trained.safetensors'))), null, 'trained.safetensors');
  expect(file.spec.latent === 4 && file.params.size === 10, `decoded ${file.params.size} tensors, latent ${file.spec.latent}`);
  // PyTorch's evaluation of the trained file, and ours (the file in a copy of the run folder).
  const evalTorch = jsonLines((await py(PYTHON, ['train.py', '--eval', 'trained.safetensors'], { cwd: proj, timeout: 300_000 })).stdout)[0];
  const evalInit = jsonLines((await py(PYTHON, ['train.py', '--eval', 'model.safetensors'], { cwd: proj, timeout: 300_000 })).stdout)[0];
  expect(evalTorch.loss < evalInit.loss - 2, `300 DDP steps should lower the test loss of the exported run: ${evalInit.loss} → ${evalTorch.loss}`);
  const trained = join(dir, 'trained-run');
  cpSync(run, trained, { recursive: true });
  cpSync(join(proj, 'trained.safetensors'), join(trained, 'model.safetensors'));
  const ours = await cli(['eval', trained, '--json']);
  expect(ours.code === 0, `eval exited ${ours.code}: ${ours.stderr}`);
  const e = jsonLines(ours.stdout).pop();
  // Both draw one posterior sample per test input: the means differ by sampling noise, σ/√N each.
  const noise = 4 * Math.SQRT2 * evalTorch.loss_std / Math.sqrt(evalTorch.count);
  console.log(`# test -ELBO: PyTorch ${evalTorch.loss.toFixed(3)}, webgpu-vae ${e.loss.toFixed(3)} (tolerance ${noise.toFixed(3)}, ${evalTorch.count} inputs)`);
  expect(e.count === evalTorch.count, `${e.count} vs ${evalTorch.count} test inputs`);
  expect(Math.abs(e.loss - evalTorch.loss) <= noise, `test -ELBO: webgpu-vae ${e.loss}, PyTorch ${evalTorch.loss}, more apart than the sampling noise ${noise}`);
  expect(Math.abs(e.recon - evalTorch.recon) <= noise && Math.abs(e.kl - evalTorch.kl) <= noise, `terms: recon ${e.recon} vs ${evalTorch.recon}, KL ${e.kl} vs ${evalTorch.kl}`);
});

test('export refuses a folder that is not empty, and a missing --pytorch', async () => {
  const run = join(dir, 'run2');
  cpSync(new URL('../fixtures/run-v1-mlp', import.meta.url).pathname, run, { recursive: true });
  writeFileSync(join(dir, 'full'), '');
  const full = join(dir, 'fulldir');
  cpSync(run, full, { recursive: true });
  const r1 = await cli(['export', run, '--pytorch', full]);
  expect(r1.code === 2 && /the folder is not empty/.test(r1.stderr), `non-empty folder: ${r1.code} ${r1.stderr}`);
  const r2 = await cli(['export', run]);
  expect(r2.code === 2 && /give --pytorch <dir>/.test(r2.stderr), `no --pytorch: ${r2.code} ${r2.stderr}`);
});
