/**
 * Bad input, case by case, through the API and through the command line:
 * each gets an error that names what was wrong and what was expected (and,
 * on the command line, a non-zero exit), never a stack trace or a silent
 * wrong answer.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Dataset } from '../../src/data/dataset.ts';
import { encodeNpy, parseNpy } from '../../src/data/npy.ts';
import { buildForward } from '../../src/graph/build.ts';
import { checkPlanFits, ModelTooLargeError } from '../../src/graph/limits.ts';
import { requestGpu, type GpuHandle } from '../../src/gpu/device.ts';
import { bufferStats } from '../../src/gpu/buffers.ts';
import { loadParams, saveCheckpoint } from '../../src/io/checkpoint.ts';
import { mlpPreset, parseModelSpec, type ModelSpec } from '../../src/model/spec.ts';
import { parseKlSchedule, parseLrSchedule } from '../../src/train/schedules.ts';
import { Trainer, type TrainerConfig } from '../../src/train/trainer.ts';
import { parseRunConfig } from '../../src/cli/config.ts';
import { expect, expectThrows } from '../support/check.ts';
import { runCli } from '../support/cli.ts';
import { tinyMlp } from '../support/models.ts';

let gpu: GpuHandle;
let dir: string;
before(async () => {
  gpu = await requestGpu({ log: () => {} });
  dir = mkdtempSync(join(tmpdir(), 'webgpu-vae-bad-'));
});
after(() => {
  gpu?.device.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const spec = tinyMlp();
const config = (over: Partial<TrainerConfig> = {}): TrainerConfig => ({
  spec, batch: 4, epochs: 1, optimizer: { type: 'adam', lr: 1e-3 }, beta: 1, klSchedule: { type: 'constant' }, lrSchedule: { type: 'constant' },
  freeBits: 0, latentL2: 0, seed: 1, binarize: 'none', logEvery: 1, ...over,
});
const floats = (count: number, values: (i: number) => number, shape: readonly number[] = [12]): Dataset => ({
  name: 'data', shape, count, data: Float32Array.from({ length: count * shape.reduce((a, b) => a * b, 1) }, (_, i) => values(i)), labels: null,
});
const good = floats(16, (i) => (i % 10) / 10);
const json = (s: ModelSpec, edit: (o: Record<string, unknown>) => void) => {
  const o = JSON.parse(JSON.stringify(s)) as Record<string, unknown>;
  edit(o);
  return o;
};
const trainer = (c: TrainerConfig, ds: Dataset = good) => () => new Trainer(gpu.device, c, ds, null).destroy();

test('API: every kind of bad input is refused with an error naming what was wrong and what was expected', async () => {
  const before = bufferStats(gpu.device);
  const runConfig = {
    version: 1, dataset: 'mnist', modelName: 'mlp', model: spec, batch: 4, epochs: 1, optimizer: 'adam', lr: 0.001, weightDecay: 0, clipNorm: 0, beta: 1,
    klSchedule: 'constant', lrSchedule: 'constant', freeBits: 0, latentL2: 0, binarize: 'none', seed: 1, logEvery: 1, trainClasses: null,
  };
  const conv = { input: [1, 4, 4], latent: 2, encoder: [{ type: 'conv2d', name: 'c', out: 2, kernel: 3, padding: 1 }], heads: { mu: 'mu', logvar: 'lv' }, decoder: [{ type: 'dense', name: 'd', out: 16 }] };
  const ckpt = mkdtempSync(join(dir, 'ckpt-'));
  saveCheckpoint(ckpt, mlpPreset({ hidden: 5, latent: 3 }, 12), new Map(buildForward(mlpPreset({ hidden: 5, latent: 3 }, 12), 1).params.map((p) => [p.name, new Float32Array(p.shape.reduce((a, b) => a * b, 1))])), null, { epoch: 1, stepInEpoch: 0, step: 1 });
  const cases: [string, () => unknown, RegExp][] = [
    ['layers: dense after a conv without flatten', () => buildForward(parseModelSpec(conv), 2), /encoder: its output has shape \[2, 2, 4, 4\]; the μ and log σ² heads need \[batch, features\]: end the encoder with a flatten layer/],
    ['layers: decoder ends at the wrong size', () => buildForward(parseModelSpec(json(spec, (o) => ((o.decoder as { out: number }[])[1]!.out = 11))), 2), /decoder: its output has shape \[11\] per sample \(11 values\); the input has \[12\] \(12\)/],
    ['layers: reshape to the wrong size', () => buildForward(parseModelSpec({ ...conv, encoder: [{ type: 'reshape', shape: [3, 5] }, { type: 'flatten' }] }), 2), /encoder\[0\] \(reshape\): cannot reshape \[1, 4, 4\] \(16 values per sample\) to \[3, 5\] \(15\)/],
    ['data: samples of the wrong size', trainer(config(), floats(16, () => 0.5, [10])), /data: samples of shape \[10\] do not fit the model input \[12\]/],
    ['data: values outside [0, 1] for a Bernoulli likelihood', trainer(config(), floats(16, (i) => (i === 40 ? 1.5 : 0.5))), /data: sample 3, value 4 is 1\.5; a Bernoulli likelihood needs values in \[0, 1\]/],
    ['data: NaN', trainer(config(), floats(16, (i) => (i === 25 ? NaN : 0.5))), /data: sample 2, value 1 is NaN; expected a finite number/],
    ['data: Inf (Gaussian likelihood)', trainer(config({ spec: tinyMlp({ type: 'gaussian', logSigma: 0 }) }), floats(16, (i) => (i === 3 ? -Infinity : 2))), /data: sample 0, value 3 is -Infinity; expected a finite number/],
    ['data: wrong dtype', () => parseNpy(encodeNpy('<f4', [1, 2], [0, 1]).map((b, i) => (i === 22 ? 'c'.charCodeAt(0) : b)), 'x.npy'), /x\.npy: dtype '<c4' is not supported; expected one of <f4/],
    ['data: empty dataset', trainer(config(), floats(0, () => 0)), /data: the dataset is empty/],
    ['data: batch larger than the data', trainer(config({ batch: 32 })), /data: 16 samples is fewer than the batch size 32; use a smaller --batch/],
    ['latent size 0', () => parseModelSpec({ ...spec, latent: 0 }), /^latent: expected a positive integer, got 0/],
    ['latent size negative', () => parseModelSpec({ ...spec, latent: -3 }), /^latent: expected a positive integer, got -3/],
    ['unknown layer type', () => parseModelSpec(json(spec, (o) => ((o.encoder as { type: string }[])[0]!.type = 'lstm'))), /^encoder\[0\]\.type: unknown layer type "lstm"; expected one of dense, conv2d/],
    ['unknown activation', () => parseModelSpec(json(spec, (o) => ((o.decoder as { activation: string }[])[0]!.activation = 'swish2'))), /^decoder\[0\]\.activation: unknown activation "swish2"; expected one of/],
    ['unknown likelihood', () => parseModelSpec({ ...spec, likelihood: { type: 'poisson' } }), /^likelihood\.type: unknown likelihood "poisson"; expected one of bernoulli, gaussian, categorical/],
    ['unknown KL schedule', () => parseKlSchedule('cubic:10'), /unknown KL schedule "cubic:10"; expected constant, linear:<steps>/],
    ['unknown learning-rate schedule', () => parseLrSchedule('warm'), /unknown learning-rate schedule "warm"; expected constant, cosine/],
    ['unknown optimizer', trainer(config({ optimizer: { type: 'lion' as 'adam', lr: 1e-3 } })), /optimizer: unknown optimizer "lion"; expected adam, adamw or sgd/],
    ['unknown binarization', trainer(config({ binarize: 'otsu' as 'none' })), /binarize: unknown mode "otsu"; expected none, static or dynamic/],
    ['model JSON: missing field', () => parseModelSpec(json(spec, (o) => delete o.heads)), /^heads: expected \{ "mu": name, "logvar": name \}/],
    ['model JSON: mistyped field', () => parseModelSpec(json(spec, (o) => ((o.encoder as { out: unknown }[])[0]!.out = '7'))), /^encoder\[0\]\.out: expected a positive integer, got "7"/],
    ['model JSON: misspelt field', () => parseModelSpec(json(spec, (o) => ((o.encoder as Record<string, unknown>[])[0]!.activaton = 'relu'))), /^encoder\[0\]\.activaton: unknown field; expected type, name, out, activation/],
    ['model JSON: misspelt top-level field', () => parseModelSpec(json(spec, (o) => (o.latnet = 3))), /^latnet: unknown field; expected input, latent/],
    ['config JSON: missing field', () => parseRunConfig({ ...runConfig, batch: undefined }, 'config.json'), /config\.json: field 'batch' is undefined; expected an integer ≥ 1/],
    ['config JSON: mistyped field', () => parseRunConfig({ ...runConfig, lr: '0.01' }, 'config.json'), /config\.json: field 'lr' is "0\.01"; expected a number ≥ 0/],
    ['config JSON: unknown field', () => parseRunConfig({ ...runConfig, epoch: 3 }, 'config.json'), /config\.json: unknown field 'epoch'; expected version, dataset/],
    ['config JSON: bad model inside', () => parseRunConfig({ ...runConfig, model: { ...spec, latent: 'four' } }, 'config.json'), /config\.json: model\.latent: expected a positive integer, got "four"/],
    ['model too large for the adapter', trainer(config({ spec: mlpPreset({ hidden: Math.ceil(gpu.device.limits.maxStorageBufferBindingSize / 4 / 24) + 16, latent: 3 }, 12) })),
      /training: the model is too large for this GPU: its \d+ parameters need \d+ bytes .* above the adapter's (maxStorageBufferBindingSize|maxBufferSize) \(\d+ bytes.*; at most about \d+ parameters fit/],
    ['checkpoint of another model', () => loadParams(join(ckpt, 'model.safetensors'), mlpPreset({ hidden: 6, latent: 3 }, 12)), /model\.safetensors: tensor 'fc1\.weight' has shape \[5, 12\]; the model needs \[6, 12\]/],
    ['checkpoint missing a tensor', () => loadParams(join(ckpt, 'model.safetensors'), { ...mlpPreset({ hidden: 5, latent: 3 }, 12), decoder: [...mlpPreset({ hidden: 5, latent: 3 }, 12).decoder, { type: 'dense', name: 'fc5', out: 12 }] }), /tensor 'fc5\.weight' \[12, 12\] is missing/],
  ];
  const failures: string[] = [];
  for (const [what, fn, pattern] of cases) {
    try {
      await expectThrows(what, fn, pattern);
    } catch (e) {
      failures.push((e as Error).message);
    }
  }
  expect(failures.length === 0, `${failures.length} of ${cases.length} cases failed:\n${failures.join('\n')}`);
  const now = bufferStats(gpu.device);
  expect(now.live === before.live && now.bytes === before.bytes, `refused constructions left buffers behind: ${now.live - before.live} buffers, ${now.bytes - before.bytes} bytes`);
});

test('model too large: the planned buffers are checked against the limits, which are named with what would fit', async () => {
  const fg = buildForward(mlpPreset({ hidden: 400, latent: 20 }), 128);
  const small = { maxStorageBufferBindingSize: 128 * 1024, maxBufferSize: 1 << 30 };
  await expectThrows('param block', () => checkPlanFits(small, fg, 'training'), /training: the model is too large for this GPU: its \d+ parameters need \d+ bytes \(\S+ MiB\) in one buffer, above the adapter's maxStorageBufferBindingSize \(131072 bytes, 0\.125 MiB\); at most about 32768 parameters fit/);
  const tiny = buildForward(mlpPreset({ hidden: 8, latent: 2 }), 128);
  // The largest temporary at batch 128 is (128, 784) floats = 401,408 bytes: 3,136 bytes per sample.
  await expectThrows('temporaries', () => checkPlanFits({ maxStorageBufferBindingSize: 64 * 1024, maxBufferSize: 1 << 30 }, tiny, 'training'),
    /training: the model is too large for this GPU at batch 128: '.*' needs 401408 bytes \(0\.383 MiB\), above the adapter's maxStorageBufferBindingSize \(65536 bytes, 0\.063 MiB\); a batch of at most 20 fits \(this one is 128\)/);
  await expectThrows('maxBufferSize named when it is the smaller', () => checkPlanFits({ maxStorageBufferBindingSize: 1 << 30, maxBufferSize: 64 * 1024 }, tiny, 'training'), /above the adapter's maxBufferSize \(65536 bytes/);
  let err: unknown = null;
  try {
    checkPlanFits({ maxStorageBufferBindingSize: 64 * 1024, maxBufferSize: 1 << 30 }, buildForward(mlpPreset({ hidden: 8, latent: 2 }), 20), 'training');
  } catch (e) {
    err = e;
  }
  expect(err === null, `the suggested batch (20) does not fit: ${String(err)}`);
  expect(!((() => { try { checkPlanFits(gpu.device.limits, fg, 'x'); return false; } catch (e) { return e instanceof ModelTooLargeError; } })()), 'the mlp preset fits this adapter');
});

const cli = (args: string[]) => runCli(dir, args);

test('CLI: bad input exits non-zero with one clear line, never a stack trace', { timeout: 600_000 }, async () => {
  const npy = (name: string, descr: string, shape: number[], values: (i: number) => number) => {
    writeFileSync(join(dir, name), encodeNpy(descr, shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => values(i))));
    return name;
  };
  const ok = npy('ok.npy', '<f4', [40, 12], (i) => (i % 10) / 10);
  const wide = npy('wide.npy', '<f4', [40, 12], (i) => (i === 50 ? 3 : 0.5));
  const nan = npy('nan.npy', '<f4', [40, 12], (i) => (i === 7 ? NaN : 0.5));
  const empty = npy('empty.npy', '<f4', [0, 12], () => 0);
  writeFileSync(join(dir, 'complex.npy'), encodeNpy('<f4', [40, 12], new Array<number>(480).fill(0)).map((b, i) => (i === 22 ? 'c'.charCodeAt(0) : b)));
  const model = (name: string, o: unknown) => {
    writeFileSync(join(dir, name), JSON.stringify(o));
    return name;
  };
  const m = tinyMlp();
  const typo = model('typo.json', json(m, (o) => ((o.decoder as Record<string, unknown>[])[0]!.actvation = 'relu')));
  const noLatent = model('nolatent.json', json(m, (o) => delete o.latent));
  const shapes = model('shapes.json', json(m, (o) => ((o.decoder as { out: number }[])[1]!.out = 10)));
  const lstm = model('lstm.json', json(m, (o) => ((o.encoder as { type: string }[])[0]!.type = 'lstm')));
  writeFileSync(join(dir, 'broken.json'), '{"input": [12], "latent": ');
  mkdirSync(join(dir, 'badrun'), { recursive: true });
  writeFileSync(join(dir, 'badrun', 'config.json'), JSON.stringify({
    version: 1, dataset: ok, modelName: 'mlp', model: m, batch: 'eight', epochs: 1, optimizer: 'adam', lr: 0.001, weightDecay: 0, clipNorm: 0, beta: 1,
    klSchedule: 'constant', lrSchedule: 'constant', freeBits: 0, latentL2: 0, binarize: 'none', seed: 1, logEvery: 1, trainClasses: null,
  }));
  const T = ['train', '--epochs', '1', '--batch', '8', '--json'];
  const cases: [string[], RegExp][] = [
    [[...T, '--dataset', ok, '--model', shapes], /decoder: its output has shape \[10\] per sample \(10 values\); the input has \[12\]/],
    [[...T, '--dataset', wide], /wide\.npy: sample 4, value 2 is 3; a Bernoulli likelihood needs values in \[0, 1\] \(rescale the data or use --likelihood gaussian\)/],
    [[...T, '--dataset', nan], /nan\.npy: element 7 \(sample 0, value 7\) is NaN; expected a finite number/],
    [[...T, '--dataset', 'complex.npy'], /complex\.npy: dtype '<c4' is not supported/],
    [[...T, '--dataset', empty], /empty\.npy: .*(empty|0 samples|at least)/],
    [[...T, '--dataset', ok, '--batch', '64'], /fewer than the batch size 64/],
    [[...T, '--dataset', ok, '--latent=-2'], /--latent: got "-2"; expected an integer ≥ 1/],
    [[...T, '--dataset', ok, '--latent', '0'], /--latent: got "0"; expected an integer ≥ 1/],
    [[...T, '--dataset', ok, '--model', noLatent], /latent: expected a positive integer, got undefined/],
    [[...T, '--dataset', ok, '--model', lstm], /encoder\[0\]\.type: unknown layer type "lstm"/],
    [[...T, '--dataset', ok, '--model', typo], /decoder\[0\]\.actvation: unknown field; expected type, name, out, activation/],
    [[...T, '--dataset', ok, '--model', 'broken.json'], /broken\.json: not valid JSON/],
    [[...T, '--dataset', ok, '--likelihood', 'poisson'], /--likelihood: got "poisson"; expected one of bernoulli, gaussian, categorical/],
    [[...T, '--dataset', ok, '--lr-schedule', 'warm'], /unknown learning-rate schedule "warm"/],
    [[...T, '--dataset', ok, '--on-nan', 'ignore'], /--on-nan: got "ignore"; expected one of skip, stop/],
    [[...T, '--dataset', ok, '--hidden', '200000000'], /the model is too large for this GPU: .* above the adapter's (maxStorageBufferBindingSize|maxBufferSize) .*; at most about \d+ parameters fit/],
    [['eval', 'badrun'], /badrun\/config\.json: field 'batch' is "eight"; expected an integer ≥ 1/],
  ];
  const failures: string[] = [];
  for (const [args, pattern] of cases) {
    const r = await cli(args);
    const lines = r.stderr.trim().split('\n').filter((l) => !/SwiftShader|vkCreateInstance|CheckVkSuccessImpl|^\s+at /.test(l));
    if (r.code === 0 || r.code === null || !pattern.test(r.stderr) || / at .*\.ts:\d+/.test(r.stderr)) {
      failures.push(`${args.join(' ')}: exit ${r.code}, stderr ${JSON.stringify(r.stderr.trim().slice(-400))} (expected ${pattern})`);
    } else if (lines.length !== 1) failures.push(`${args.join(' ')}: expected one line of error, got ${JSON.stringify(lines)}`);
  }
  expect(failures.length === 0, `${failures.length} of ${cases.length} cases failed:\n${failures.join('\n')}`);
});
