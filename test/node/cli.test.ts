/**
 * The command-line trainer end to end on a few hundred MNIST digits: a run
 * folder whose every file is valid, resume, eval, sample, score, an
 * interrupted run that saves and resumes, and clear errors for bad input.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadMnistNode } from '../../src/data/mnist.ts';
import { encodeNpy, parseNpy } from '../../src/data/npy.ts';
import { loadParams } from '../../src/io/checkpoint.ts';
import { readSafetensors } from '../../src/io/safetensors.ts';
import { decodePng } from '../../src/io/png.ts';
import { mlpPreset } from '../../src/model/spec.ts';
import { expect } from '../support/check.ts';
import { runCli, type CliOptions } from '../support/cli.ts';

let dir: string;
let data: string;

const cli = (args: string[], opts: CliOptions = {}) => runCli(dir, args, opts);

const SMALL = ['--epochs', '1', '--batch', '32', '--hidden', '32', '--latent', '4', '--log-every', '3', '--json'];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'webgpu-vae-cli-'));
  const { train } = await loadMnistNode();
  data = join(dir, 'digits.npy');
  writeFileSync(data, encodeNpy('|u1', [300, 28, 28], train.data.subarray(0, 300 * 784)));
});

after(() => rmSync(dir, { recursive: true, force: true }));

function events(stdout: string): Record<string, unknown>[] {
  return stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('train writes a complete, valid run folder; resume, eval, sample, reconstruct, interpolate and score use it', { timeout: 600_000 }, async () => {
  const r = await cli(['train', '--dataset', data, ...SMALL, '--out', 'run']);
  expect(r.code === 0, `train exited ${r.code}: ${r.stderr}`);
  const ev = events(r.stdout);
  expect(ev.some((e) => e.type === 'step') && ev.some((e) => e.type === 'epoch'), `train printed step and epoch events: ${r.stdout.slice(0, 400)}`);
  const step = ev.find((e) => e.type === 'step')!;
  expect(Array.isArray(step.klPerDim) && (step.klPerDim as number[]).length === 4 && typeof step.beta === 'number' && typeof step.samplesPerSecond === 'number', `step event fields: ${JSON.stringify(step)}`);
  const run = join(dir, 'run');
  const config = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
  expect(config.model.latent === 4 && config.batch === 32, `config.json: ${JSON.stringify(config).slice(0, 200)}`);
  const { params, metadata } = loadParams(join(run, 'model.safetensors'), config.model);
  expect(params.get('fc1.weight')!.length === 32 * 784 && metadata.epoch === '1', `model.safetensors: epoch ${metadata.epoch}`);
  const opt = readSafetensors(new Uint8Array(readFileSync(join(run, 'optimizer.safetensors'))));
  expect(opt.tensors.has('m') && opt.tensors.has('v') && opt.metadata.step === '9', `optimizer.safetensors: ${[...opt.tensors.keys()]} step ${opt.metadata.step}`);
  const metrics = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(metrics.length === 1 && metrics[0].epoch === 1 && Number.isFinite(metrics[0].test.loss) && Number.isFinite(metrics[0].train.loss), `metrics.jsonl: ${JSON.stringify(metrics)}`);
  for (const [file, w, h] of [['samples.png', 8 * 56 + 9 * 2, 8 * 56 + 9 * 2], ['reconstructions.png', 0, 0], ['latent.png', 900, 700], ['interpolation.png', 10 * 56 + 11 * 2, 0], ['loss.png', 900, 600]] as const) {
    const img = decodePng(new Uint8Array(readFileSync(join(run, file))), file);
    expect((w === 0 || img.width === w) && (h === 0 || img.height === h), `${file}: ${img.width}×${img.height}, expected ${w || 'any'}×${h || 'any'}`);
    const first = img.rgba.slice(0, 4).join(',');
    let varied = false;
    for (let i = 4; i < img.rgba.length && !varied; i += 4) varied = img.rgba.slice(i, i + 4).join(',') !== first;
    expect(varied, `${file} is blank`);
  }

  const re = await cli(['resume', 'run', '--epochs', '2', '--json']);
  expect(re.code === 0, `resume exited ${re.code}: ${re.stderr}`);
  const m2 = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(m2.length === 2 && m2[1].epoch === 2 && m2[1].step === 18, `after resume: ${JSON.stringify(m2.map((m: { epoch: number; step: number }) => [m.epoch, m.step]))}`);

  const e = await cli(['eval', 'run', '--json', '--iw-samples', '8', '--limit', '12']);
  expect(e.code === 0, `eval exited ${e.code}: ${e.stderr}`);
  const res = JSON.parse(e.stdout.trim().split('\n').pop()!);
  expect(res.count === 12 && Number.isFinite(res.elbo) && Number.isFinite(res.iwNll) && res.klPerDim.length === 4, `eval: ${e.stdout}`);
  expect(res.iwNll <= -res.elbo + 5, `IW-NLL ${res.iwNll} should not be far above −ELBO ${-res.elbo}`);

  const s = await cli(['sample', 'run', '--n', '9', '--out', 's.png', '--seed', '3']);
  expect(s.code === 0, `sample exited ${s.code}: ${s.stderr}`);
  expect(decodePng(new Uint8Array(readFileSync(join(dir, 's.png'))), 's.png').width === 3 * 56 + 4 * 2, 'sample grid of 3 columns');
  // The same samples as the decoder's means in an N×C×H×W float32 array, for other tools to score.
  const sn = await cli(['sample', 'run', '--n', '9', '--out', 's.npy', '--seed', '3']);
  expect(sn.code === 0, `sample --out s.npy exited ${sn.code}: ${sn.stderr}`);
  const arr = parseNpy(new Uint8Array(readFileSync(join(dir, 's.npy'))), 's.npy');
  expect(arr.shape.join('x') === '9x1x28x28' && arr.data instanceof Float32Array && arr.data.every((v) => v >= 0 && v <= 1), `s.npy: shape ${arr.shape.join('x')}, ${arr.data.constructor.name}`);
  const sl = await cli(['sample', 'run', '--label', '3']);
  expect(sl.code === 2 && /sample --label: this model is not conditioned on a label/.test(sl.stderr), `sample --label on an unconditioned model: ${sl.code} ${sl.stderr}`);
  for (const cmd of [['reconstruct', 'run', '--n', '4', '--out', 'r.png'], ['interpolate', 'run', '--a', '0', '--b', '2', '--steps', '5', '--out', 'i.png']]) {
    const x = await cli(cmd);
    expect(x.code === 0 && existsSync(join(dir, cmd[cmd.length - 1]!)), `${cmd[0]} exited ${x.code}: ${x.stderr}`);
  }
  const sc = await cli(['score', 'run', '--csv']);
  expect(sc.code === 0, `score exited ${sc.code}: ${sc.stderr}`);
  const lines = sc.stdout.trim().split('\n');
  expect(lines[0] === 'index,label,score,recon,kl' && lines.length === 31, `score CSV: ${lines.length} lines, header ${lines[0]}`);
});

test('a conditional VAE (cvae-mlp) trains on labelled digits; sample draws the class asked for with --label, as a grid or a .npy', { timeout: 600_000 }, async () => {
  const t = await cli(['train', '--model', 'cvae-mlp', '--dataset', 'mnist', '--epochs', '2', '--batch', '128', '--json', '--out', 'cvae']);
  expect(t.code === 0, `train --model cvae-mlp exited ${t.code}: ${t.stderr}`);
  const config = JSON.parse(readFileSync(join(dir, 'cvae', 'config.json'), 'utf8'));
  expect(config.model.extraInputs?.label?.classes === 10 && config.model.encoder[0].type === 'concat', `config: ${JSON.stringify(config.model).slice(0, 200)}`);
  expect(decodePng(new Uint8Array(readFileSync(join(dir, 'cvae', 'samples.png'))), 'samples.png').height === 10 * 56 + 11 * 2, 'samples.png: a row of 8 per class');
  const a = await cli(['sample', 'cvae', '--label', '7', '--n', '16', '--out', '7s.npy', '--seed', '2']);
  const b = await cli(['sample', 'cvae', '--label', '1', '--n', '16', '--out', '1s.npy', '--seed', '2']);
  expect(a.code === 0 && b.code === 0, `sample --label exited ${a.code}/${b.code}: ${a.stderr}${b.stderr}`);
  const x7 = parseNpy(new Uint8Array(readFileSync(join(dir, '7s.npy'))), '7s.npy').data as Float32Array;
  const x1 = parseNpy(new Uint8Array(readFileSync(join(dir, '1s.npy'))), '1s.npy').data as Float32Array;
  // The same latent codes decoded as a 1 light fewer pixels than as a 7 (a 1 is a single stroke).
  const ink = (x: Float32Array) => x.reduce((s, v) => s + v, 0) / 16;
  expect(ink(x1) < ink(x7), `mean ink per sample: label 1 ${ink(x1).toFixed(1)}, label 7 ${ink(x7).toFixed(1)}`);
  const none = await cli(['sample', 'cvae', '--n', '4']);
  expect(none.code === 2 && /this model is conditioned on a label; give --label 0\.\.9/.test(none.stderr), `sample without --label: ${none.code} ${none.stderr}`);
  const bad = await cli(['sample', 'cvae', '--label', '10']);
  expect(bad.code === 2 && /--label/.test(bad.stderr), `sample --label 10: ${bad.code} ${bad.stderr}`);
  for (const cmd of [['eval', 'cvae', '--limit', '64'], ['reconstruct', 'cvae', '--n', '4', '--out', 'cr.png'], ['interpolate', 'cvae', '--steps', '4', '--out', 'ci.png'], ['score', 'cvae', '--normal', '1']]) {
    const r = await cli(cmd);
    expect(r.code === 0, `${cmd[0]} on a conditional run exited ${r.code}: ${r.stderr}`);
  }
  const unlabelled = await cli(['train', '--model', 'cvae-mlp', '--dataset', data, ...SMALL]);
  expect(unlabelled.code === 1 && /--model cvae-mlp draws the class you ask for: it needs a labelled dataset, and digits-train has no labels/.test(unlabelled.stderr), `cvae on unlabelled data: ${unlabelled.code} ${unlabelled.stderr}`);
});

test('an interrupted run saves a checkpoint mid-epoch and resume finishes it', { timeout: 600_000 }, async () => {
  const r = await cli(['train', '--dataset', data, ...SMALL, '--log-every', '1', '--epochs', '2', '--out', 'stopped'], { interruptOn: /"type":"step"/ });
  expect(r.code === 130, `an interrupted run exits 130, got ${r.code}: ${r.stderr.slice(-300)}`);
  const meta = readSafetensors(new Uint8Array(readFileSync(join(dir, 'stopped', 'optimizer.safetensors')))).metadata;
  const saved = Number(meta.step);
  expect(saved >= 1 && saved < 18, `checkpoint step ${meta.step}, step_in_epoch ${meta.step_in_epoch}`);
  const re = await cli(['resume', 'stopped', '--json']);
  expect(re.code === 0, `resume exited ${re.code}: ${re.stderr}`);
  const last = JSON.parse(readFileSync(join(dir, 'stopped', 'metrics.jsonl'), 'utf8').trim().split('\n').pop()!);
  expect(last.epoch === 2 && last.step === 18, `resumed run ended at epoch ${last.epoch}, step ${last.step}`);
});

test('train --autotune prints each tuned product and the choices before training', { timeout: 600_000 }, async () => {
  const r = await cli(['train', '--dataset', data, ...SMALL, '--out', 'tuned', '--autotune']);
  expect(r.code === 0, `train --autotune exited ${r.code}: ${r.stderr.slice(-300)}`);
  const ev = events(r.stdout);
  const tuned = ev.filter((e) => e.type === 'autotune');
  const choices = ev.find((e) => e.type === 'autotune-choices');
  // 784-32-4 at batch 32: 5 forward, 5 dW and 4 dX products; the two heads share shapes, leaving 11.
  expect(tuned.length === 11, `${tuned.length} tuned shapes: ${tuned.map((e) => e.shape).join(', ')}`);
  for (const e of tuned) expect(Object.keys(e.ms as object).includes(e.chosen as string), `${e.shape}: chose ${e.chosen}, timed ${JSON.stringify(e.ms)}`);
  expect(choices !== undefined && Object.keys(choices.byClass as object).length > 0, `choices: ${JSON.stringify(choices)}`);
  expect(ev.findIndex((e) => e.type === 'autotune-choices') < ev.findIndex((e) => e.type === 'step'), 'tuning comes before the first step');
});

test('bad input gets a clear error and a non-zero exit', { timeout: 600_000 }, async () => {
  const cases: [string[], RegExp][] = [
    [['train', '--dataset', 'nowhere.npy'], /nowhere.npy: not a dataset name \(mnist, fashion-mnist\) nor an existing file or folder/],
    [['train', '--dataset', data, '--latent', '0'], /--latent: got "0"; expected an integer ≥ 1/],
    [['train', '--dataset', data, '--kl-schedule', 'cubic'], /unknown KL schedule "cubic"/],
    [['train', '--dataset', data, '--optimizer', 'lion'], /--optimizer: got "lion"; expected one of adam, adamw, sgd/],
    [['train', '--dataset', data, '--batch', '1000', '--epochs', '1'], /fewer than the batch size 1000/],
    [['train', '--frobnicate'], /Unknown option '--frobnicate'/],
    [['eval', 'no-such-run'], /no-such-run: no config.json; expected a run folder/],
    [['frob'], /unknown command 'frob'/],
    [['train', '--dataset', data, '--train-classes', 'one'], /--train-classes: "one" is not a label/],
    [['train', '--dataset', data, '--train-classes', '3'], /--train-classes: .*has no labels/],
  ];
  for (const [args, pattern] of cases) {
    const r = await cli(args);
    expect(r.code !== 0 && pattern.test(r.stderr), `${args.join(' ')}: exit ${r.code}, stderr: ${r.stderr.trim().slice(-300)} (expected ${pattern})`);
  }
  // A corrupt checkpoint is refused, naming the file.
  const r0 = await cli(['train', '--dataset', data, ...SMALL, '--out', 'corrupt']);
  expect(r0.code === 0, `train exited ${r0.code}`);
  const f = join(dir, 'corrupt', 'model.safetensors');
  const bytes = readFileSync(f);
  writeFileSync(f, bytes.subarray(0, bytes.length - 10));
  const r1 = await cli(['sample', 'corrupt']);
  expect(r1.code !== 0 && /model.safetensors: .*run past the/.test(r1.stderr), `corrupt checkpoint: exit ${r1.code}, ${r1.stderr.trim()}`);
  // A checkpoint of another model is refused, naming the tensor and both shapes.
  const cfg = JSON.parse(readFileSync(join(dir, 'run', 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'corrupt', 'config.json'), JSON.stringify({ ...cfg, model: mlpPreset({ hidden: 33, latent: 4 }) }));
  writeFileSync(f, readFileSync(join(dir, 'run', 'model.safetensors')));
  const r2 = await cli(['sample', 'corrupt']);
  expect(r2.code !== 0 && /tensor 'fc1.weight' has shape \[32, 784\]; the model needs \[33, 784\]/.test(r2.stderr), `mismatched checkpoint: ${r2.stderr.trim()}`);
});
