/**
 * A run interrupted and continued ends exactly where the same run never
 * interrupted ends, through the command line: Ctrl-C (a SIGINT the process
 * gets at a known step, WEBGPU_VAE_FAULT=sigint@N) mid-epoch then `resume`,
 * and a GPU device lost mid-run (WEBGPU_VAE_FAULT=device-lost@N), each give the
 * same logged losses (every step event, every epoch line of metrics.jsonl)
 * and the same final parameters and optimizer state, bit for bit: the steps
 * run in the same order on the same kernels, from the same saved state.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadMnistNode } from '../../src/data/mnist.ts';
import { encodeNpy } from '../../src/data/npy.ts';
import { readSafetensors } from '../../src/io/safetensors.ts';
import { expect } from '../support/check.ts';

const BIN = new URL('../../bin/webgpu-vae.mjs', import.meta.url).pathname;
// 320 digits (288 for training after the CLI's split) at batch 16: 18 steps per epoch, a statistics window every 4 steps, 2 epochs.
const RUN = ['--batch', '16', '--hidden', '32', '--latent', '4', '--log-every', '4', '--epochs', '2', '--json'];
const STEPS_PER_EPOCH = 18;

let dir: string;
let reference: RunRecord;

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

type Json = Record<string, unknown>;

/** What a run logged and where it ended. */
interface RunRecord {
  /** Step events by step, without the wall-clock rate (a replayed step appears once per emission). */
  readonly steps: Map<number, string[]>;
  /** metrics.jsonl lines without the wall-clock fields. */
  readonly epochs: string[];
  readonly model: Map<string, Uint8Array>;
  readonly optimizer: Map<string, Uint8Array>;
  readonly meta: Record<string, string>;
}

const without = (o: Json, keys: readonly string[]) => JSON.stringify(Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k))));

function record(folder: string, stdouts: readonly string[]): RunRecord {
  const steps = new Map<number, string[]>();
  for (const out of stdouts) {
    for (const line of out.split('\n')) {
      if (!line.startsWith('{')) continue;
      const e = JSON.parse(line) as Json;
      if (e.type !== 'step') continue;
      const list = steps.get(e.step as number) ?? [];
      list.push(without(e, ['samplesPerSecond']));
      steps.set(e.step as number, list);
    }
  }
  const epochs = readFileSync(join(folder, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => without(JSON.parse(l) as Json, ['samplesPerSecond', 'seconds']));
  const tensors = (file: string) => {
    const st = readSafetensors(new Uint8Array(readFileSync(join(folder, file))));
    return { map: new Map([...st.tensors].map(([k, t]) => [k, t.bytes])), meta: st.metadata };
  };
  const model = tensors('model.safetensors'), optimizer = tensors('optimizer.safetensors');
  return { steps, epochs, model: model.map, optimizer: optimizer.map, meta: optimizer.meta };
}

/** Throws unless `r` logged what the uninterrupted run logged and ended with the same bytes. */
function expectSameAsReference(what: string, r: RunRecord): void {
  const ref = reference;
  expect([...r.steps.keys()].sort((a, b) => a - b).join(',') === [...ref.steps.keys()].sort((a, b) => a - b).join(','), `${what}: logged steps ${[...r.steps.keys()]} vs ${[...ref.steps.keys()]}`);
  for (const [step, events] of r.steps) {
    for (const e of events) expect(e === ref.steps.get(step)![0], `${what}: step ${step} logged\n  ${e}\nuninterrupted:\n  ${ref.steps.get(step)![0]}`);
  }
  expect(r.epochs.length === ref.epochs.length, `${what}: ${r.epochs.length} metrics lines vs ${ref.epochs.length}`);
  r.epochs.forEach((l, i) => expect(l === ref.epochs[i], `${what}: metrics.jsonl line ${i + 1}\n  ${l}\nuninterrupted:\n  ${ref.epochs[i]}`));
  for (const [kind, mine, theirs] of [['model', r.model, ref.model], ['optimizer', r.optimizer, ref.optimizer]] as const) {
    expect(mine.size === theirs.size && mine.size > 0, `${what}: ${kind} tensors ${[...mine.keys()]} vs ${[...theirs.keys()]}`);
    for (const [k, bytes] of theirs) {
      const b = mine.get(k)!;
      const at = bytes.findIndex((x, i) => x !== b[i]);
      expect(b.length === bytes.length && at < 0, `${what}: ${kind} tensor '${k}' differs from the uninterrupted run's at byte ${at}`);
    }
  }
  for (const k of ['epoch', 'step', 'step_in_epoch', 'skipped_steps']) expect(r.meta[k] === ref.meta[k], `${what}: checkpoint ${k} ${r.meta[k]} vs ${ref.meta[k]}`);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'webgpu-vae-resume-'));
  const { train } = await loadMnistNode();
  writeFileSync(join(dir, 'digits.npy'), encodeNpy('|u1', [320, 28, 28], train.data.subarray(0, 320 * 784)));
  const r = await cli(['train', '--dataset', 'digits.npy', ...RUN, '--out', 'straight']);
  if (r.code !== 0) throw new Error(`the uninterrupted run exited ${r.code}: ${r.stderr.slice(-500)}`);
  reference = record(join(dir, 'straight'), [r.stdout]);
  if (reference.meta.step !== String(2 * STEPS_PER_EPOCH)) throw new Error(`the uninterrupted run ended at step ${reference.meta.step}`);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('Ctrl-C mid-epoch, then resume: every logged loss and the final parameters and optimizer state equal the uninterrupted run, bit for bit', { timeout: 600_000 }, async () => {
  const r = await cli(['train', '--dataset', 'digits.npy', ...RUN, '--out', 'stopped'], { WEBGPU_VAE_FAULT: 'sigint@8' });
  expect(r.code === 130, `the interrupted run exits 130, got ${r.code}: ${r.stderr.slice(-400)}`);
  const meta = readSafetensors(new Uint8Array(readFileSync(join(dir, 'stopped', 'optimizer.safetensors')))).metadata;
  // The signal lands while the trainer waits for a statistics read: it stops at the end of that window.
  expect(meta.epoch === '0' && Number(meta.step_in_epoch) >= 8 && Number(meta.step_in_epoch) < STEPS_PER_EPOCH && Number(meta.step_in_epoch) % 4 === 0, `stopped at epoch ${meta.epoch}, step in epoch ${meta.step_in_epoch}: expected mid-epoch, at a window boundary`);
  expect(meta.epoch_sums !== undefined && JSON.parse(meta.epoch_sums).count === Number(meta.step_in_epoch), `the checkpoint carries the epoch's sums so far: ${meta.epoch_sums}`);
  const re = await cli(['resume', 'stopped', '--json']);
  expect(re.code === 0, `resume exited ${re.code}: ${re.stderr.slice(-400)}`);
  expectSameAsReference('interrupted at step ' + meta.step, record(join(dir, 'stopped'), [r.stdout, re.stdout]));
});

test('a GPU device lost mid-run: every logged loss (replayed steps included) and the final state equal the uninterrupted run, bit for bit', { timeout: 600_000 }, async () => {
  const r = await cli(['train', '--dataset', 'digits.npy', ...RUN, '--out', 'lost'], { WEBGPU_VAE_FAULT: 'device-lost@26' });
  expect(r.code === 0, `train exited ${r.code}: ${r.stderr.slice(-400)}`);
  const lost = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Json).filter((e) => e.type === 'device-lost');
  // The device is destroyed at the window ending at step 26; training continues from the snapshot at the end of epoch 1 (step 18), so steps 19–26 run twice.
  expect(lost.length === 1 && lost[0]!.step === 26 && lost[0]!.restoredStep === 18, `device-lost events: ${JSON.stringify(lost)}`);
  const rec = record(join(dir, 'lost'), [r.stdout]);
  expect(rec.steps.get(22)?.length === 2 && rec.steps.get(26)?.length === 2, `steps 22 and 26 were logged ${rec.steps.get(22)?.length ?? 0} and ${rec.steps.get(26)?.length ?? 0} times; expected twice (before the loss and replayed)`);
  expectSameAsReference('device lost at step 26', rec);
});
