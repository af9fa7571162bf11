/**
 * The command line under faults: a lost GPU device mid-run (injected with
 * WEBGPU_VAE_FAULT) is reported and the run finishes on a new device with a
 * valid checkpoint; a model whose gradients overflow is reported step by step
 * and, with --on-nan stop, stops with a clear error and no new checkpoint.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { encodeNpy } from '../../src/data/npy.ts';
import { loadParams } from '../../src/io/checkpoint.ts';
import { readSafetensors } from '../../src/io/safetensors.ts';
import { expect } from '../support/check.ts';
import { tinyMlp } from '../support/models.ts';

const BIN = new URL('../../bin/webgpu-vae.mjs', import.meta.url).pathname;
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'webgpu-vae-clirel-'));
  writeFileSync(join(dir, 'data.npy'), encodeNpy('<f4', [60, 12], Array.from({ length: 720 }, (_, i) => (i % 11) / 10)));
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Result { code: number | null; stdout: string; stderr: string }
function cli(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const SMALL = ['--dataset', 'data.npy', '--batch', '8', '--hidden', '16', '--latent', '3', '--log-every', '2'];

test('CLI: a device lost mid-run is reported and the run finishes on a new device', { timeout: 600_000 }, async () => {
  const r = await cli(['train', ...SMALL, '--epochs', '2', '--out', 'lost'], { WEBGPU_VAE_FAULT: 'device-lost@4' });
  expect(r.code === 0, `train exited ${r.code}: ${r.stderr.slice(-500)}`);
  expect(/GPU device lost at step 4 \(destroyed[^)]*\); continuing on a new device from the snapshot at step 0 \(epoch 1\)/.test(r.stdout), `stdout: ${r.stdout.slice(-800)}`);
  const metrics = readFileSync(join(dir, 'lost', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { epoch: number; step: number; test: { loss: number } });
  expect(metrics.map((m) => `${m.epoch}:${m.step}`).join(',') === '1:7,2:14' && metrics.every((m) => Number.isFinite(m.test.loss)), `metrics ${JSON.stringify(metrics)}`);
  const config = JSON.parse(readFileSync(join(dir, 'lost', 'config.json'), 'utf8'));
  const ck = loadParams(join(dir, 'lost', 'model.safetensors'), config.model);
  expect(ck.metadata.step === '14' && ck.metadata.epoch === '2', `checkpoint at ${JSON.stringify(ck.metadata)}`);
  const j = await cli(['train', ...SMALL, '--epochs', '1', '--json', '--out', 'lost-json'], { WEBGPU_VAE_FAULT: 'device-lost@2' });
  const ev = j.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.type === 'device-lost');
  expect(j.code === 0 && ev !== undefined && ev.step === 2 && ev.restoredStep === 0 && typeof ev.text === 'string', `json: exit ${j.code}, event ${JSON.stringify(ev)}`);
});

test('CLI: overflowing gradients are reported with step and parameter; --on-nan stop exits 1 and keeps the last checkpoint', { timeout: 600_000 }, async () => {
  // σ = e^-60: the Gaussian NLL's gradient (μ − x)/σ² overflows float32 from the first step.
  writeFileSync(join(dir, 'sharp.json'), JSON.stringify({ ...tinyMlp({ type: 'gaussian', logSigma: -60 }), input: [12] }));
  const skip = await cli(['train', ...SMALL, '--model', 'sharp.json', '--epochs', '1', '--json', '--out', 'nan-skip']);
  expect(skip.code === 0, `--on-nan skip exited ${skip.code}: ${skip.stderr.slice(-400)}`);
  const events = skip.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const nan = events.filter((e) => e.type === 'nonfinite');
  expect(nan.length === 4 && nan[0]!.step === 1 && nan[0]!.lastStep === 2 && nan[0]!.skipped === 2 && typeof nan[0]!.tensor === 'string', `nonfinite events: ${JSON.stringify(nan.slice(0, 2))}`);
  expect(/^step 1: (the gradient of '[\w.]+' \(element \d+\) is NaN or infinite|the gradient norm overflowed \(every element finite\)); the update was skipped; 2 updates skipped in steps 1–2$/.test(nan[0]!.message as string), `message: ${nan[0]!.message}`);
  const epoch = events.find((e) => e.type === 'epoch')!;
  expect(epoch.skippedSteps === 7, `epoch event skippedSteps ${epoch.skippedSteps}`);
  // The skipped updates left the initial parameters: the checkpoint is finite.
  const ck = readSafetensors(new Uint8Array(readFileSync(join(dir, 'nan-skip', 'model.safetensors'))));
  expect(ck.metadata.step === '7', `checkpoint step ${ck.metadata.step}`);

  const stop = await cli(['train', ...SMALL, '--model', 'sharp.json', '--epochs', '1', '--on-nan', 'stop', '--out', 'nan-stop']);
  expect(stop.code === 1, `--on-nan stop exited ${stop.code}`);
  expect(/webgpu-vae train: step 1: .*; the update was skipped; 2 updates skipped in steps 1–2; training stopped \(on non-finite: stop\); the last checkpoint in nan-stop is kept \(epoch 0\)/.test(stop.stderr), `stderr: ${stop.stderr.slice(-500)}`);
  expect(/non-finite gradient: step 1:/.test(stop.stdout), `stdout: ${stop.stdout.slice(-400)}`);
  expect(!existsSync(join(dir, 'nan-stop', 'model.safetensors')), 'a checkpoint was written after the stop');
  const saved = JSON.parse(readFileSync(join(dir, 'nan-stop', 'config.json'), 'utf8'));
  expect(saved.onNan === 'stop', `config.json onNan ${saved.onNan}`);
});
