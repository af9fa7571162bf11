/**
 * The sequence presets against their PyTorch reference
 * (scripts/torch_sequence_reference.py, which builds the module with
 * src/export/torch_vae.py; Debian's python3-torch): our smiles and
 * smiles-conv presets are trained a few steps on WEHI molecules on the GPU
 * (word dropout on), the checkpoint is saved as `webgpu-vae train` saves it,
 * and the reference script
 * - loads it with load_state_dict(strict=True): the parameter names and
 *   shapes are the module's, none missing or extra;
 * - computes, on a fixed batch with the latent noise our step draws and word
 *   dropout off, the loss (β and free bits, λ chosen so some dimensions are
 *   below it and some above), its terms and every parameter gradient: equal
 *   to our GPU step's to float32 tolerance (the batch's one-hot inputs and
 *   previous tokens are built on each side from the same token ids);
 * - greedy-decodes a few codes (posterior means and prior draws): the tokens
 *   equal our GPU decoder's (src/eval/decode.ts), token for token;
 * - builds the previous tokens with word dropout p = 1 (every token it may
 *   replace replaced): the same positions as our definition
 *   (gatherOneHotRef: t > 0, not padding).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { subset, type Dataset } from '../../src/data/dataset.ts';
import { loadSequenceSets, type SequenceSets } from '../../src/data/sequence-sets.ts';
import { csvColumn, WEHI_SMILES } from '../../src/data/sequence-files.ts';
import { SPECIAL_IDS } from '../../src/data/tokens.ts';
import { SequenceDecoder } from '../../src/eval/decode.ts';
import { datasetRows, Inference } from '../../src/eval/inference.ts';
import { createBuffer, destroyBuffer, STORAGE } from '../../src/gpu/buffers.ts';
import { requestGpu, type GpuHandle } from '../../src/gpu/device.ts';
import { buildForward, modelLayout } from '../../src/graph/build.ts';
import { saveCheckpoint } from '../../src/io/checkpoint.ts';
import { readSafetensors, tensorAsF32, writeSafetensors } from '../../src/io/safetensors.ts';
import { sequencePreset } from '../../src/model/presets.ts';
import type { ModelSpec } from '../../src/model/spec.ts';
import { randomNormalRef } from '../../src/ref/philox.ts';
import { gatherOneHotRef } from '../../src/ref/tokens.ts';
import { initParams } from '../../src/train/params.ts';
import { TrainingSession } from '../../src/train/session.ts';
import { expect } from '../support/check.ts';

const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const SCRIPT = new URL('../../scripts/torch_sequence_reference.py', import.meta.url).pathname;
const SEED = 23;
const BATCH = 16;
const TRAIN_STEPS = 6;

let gpu: GpuHandle;
let dir: string;
let sets: SequenceSets;

before(async () => {
  gpu = await requestGpu({ log: () => {} });
  dir = mkdtempSync(join(tmpdir(), 'webgpu-vae-torch-seq-'));
  // 200 WEHI molecules of at most 30 characters: short sequences keep the GRU's steps few.
  const mols = csvColumn(new Uint8Array(readFileSync(WEHI_SMILES)), WEHI_SMILES, null).map((l) => l.text!).filter((s) => s.length <= 30).slice(0, 200);
  writeFileSync(join(dir, 'mols.smi'), `${mols.join('\n')}\n`);
  sets = loadSequenceSets(join(dir, 'mols.smi'));
});

after(() => {
  gpu?.device.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const firstRows = (ds: Dataset, n: number) => subset(ds, Uint32Array.from({ length: n }, (_, i) => i));
const identity = (n: number) => Uint32Array.from({ length: n }, (_, i) => i);

/** A few Adam steps of the preset on the training split (word dropout on), from our initialization. */
async function trainFewSteps(spec: ModelSpec): Promise<Map<string, Float32Array>> {
  const s = new TrainingSession(gpu.device, { spec, batch: BATCH, optimizer: { type: 'adam', lr: 2e-3 }, loss: { beta: 1, freeBits: 0, latentL2: 0, seed: SEED } });
  try {
    s.setParams(initParams(buildForward(spec, 1), SEED));
    s.attachData(sets.train);
    s.setOrder(identity(sets.train.count));
    for (let i = 0; i < TRAIN_STEPS; i++) s.runStep({ beta: 1, lr: 2e-3 }, i);
    return await s.getParams('params');
  } finally {
    s.destroy();
  }
}

interface TorchCheck {
  loss: number; recon: number; kl: number; belowFreeBits: number;
  decoded: number[][]; droppedAll: number[][]; parameters: string[];
}

for (const preset of ['smiles', 'smiles-conv'] as const) {
  test(`${preset}: our checkpoint loads into the PyTorch reference (strict), which computes our loss and gradients and decodes our tokens`, { timeout: 900_000 }, async () => {
    const device = gpu.device;
    const [T] = sets.train.shape as [number];
    const V = sets.vocab.size;
    const decoder = preset === 'smiles' ? 'gru' : 'conv';
    const spec = sequencePreset({ steps: T, vocab: V, decoder, wordDropout: 0.3 });
    const params = await trainFewSteps(spec);
    const run = join(dir, preset);
    mkdirSync(run);
    saveCheckpoint(run, spec, params, null, { epoch: 0, stepInEpoch: TRAIN_STEPS, step: TRAIN_STEPS });

    // The same model without word dropout (the previous tokens are the true ones), at the trained parameters.
    const plain: ModelSpec = { ...spec, extraInputs: { prev: { type: 'previous-tokens' } } };
    const batch = firstRows(sets.test.count >= BATCH ? sets.test : sets.train, BATCH);
    const ids = batch.data as Float32Array;
    const { names, total } = modelLayout(plain);
    const block = new Float32Array(total);
    for (const [k, v] of params) block.set(v, names.get(k)!);
    const pbuf = createBuffer(device, total * 4, STORAGE, 'params');
    device.queue.writeBuffer(pbuf, 0, block);
    const inf = new Inference(device, plain, pbuf, BATCH);
    const dec = new SequenceDecoder(device, plain, pbuf, 8);
    try {
      const J = spec.latent;
      const { mu, logvar } = await inf.encode(datasetRows(batch));
      // Free bits λ: halfway between the two middle values of the batch's per-dimension KL, so the rule
      // decides for both kinds of dimension and no dimension sits at λ (where rounding would decide).
      const klDim = Array.from({ length: J }, (_, j) => {
        let k = 0;
        for (let b = 0; b < BATCH; b++) k += 0.5 * (mu[b * J + j]! ** 2 + Math.expm1(logvar[b * J + j]!) - logvar[b * J + j]!);
        return k / BATCH;
      });
      const sorted = [...klDim].sort((a, b) => a - b);
      const freeBits = (sorted[(J >> 1) - 1]! + sorted[J >> 1]!) / 2;
      const below = klDim.filter((k) => k < freeBits).length;
      expect(below > 0 && below < J, `λ = ${freeBits}: ${below} of ${J} dimensions below it`);

      // Our step on the batch: the feed gathers x and the previous tokens on the GPU; ε is Philox (seed, step 1, stream 0).
      const loss = { beta: 0.7, freeBits };
      const s = new TrainingSession(device, { spec: plain, batch: BATCH, optimizer: { type: 'adam', lr: 2e-3 }, loss: { ...loss, latentL2: 0, seed: SEED } });
      let ours: { loss: number; recon: number; kl: number }, grads: Map<string, Float32Array>;
      try {
        s.setParams(params);
        s.attachData(batch);
        s.setOrder(identity(BATCH));
        s.program.resetStats();
        const enc = device.createCommandEncoder();
        s.encodeStep(enc, { beta: loss.beta, lr: 0 }, 0, false);
        device.queue.submit([enc.finish()]);
        ours = await s.program.readStats();
        grads = await s.getParams('grads');
      } finally {
        s.destroy();
      }
      const eps = Float32Array.from(randomNormalRef({ seed: SEED, step: 1, stream: 0 }, BATCH * J));

      // Codes to decode: the batch's first 4 posterior means and 4 prior draws.
      const z = new Float32Array(8 * J);
      z.set(mu.subarray(0, 4 * J));
      z.set(Float32Array.from(randomNormalRef({ seed: SEED, step: 0, stream: 3 }, 4 * J)), 4 * J);
      const decoded = await dec.decode(z, { temperature: 0, seed: 0 });

      const inputs = join(run, 'inputs.safetensors');
      writeFileSync(inputs, writeSafetensors([
        { name: 'input.ids', shape: [BATCH, T], data: ids },
        { name: 'input.eps', shape: [BATCH, J], data: eps },
        { name: 'input.z', shape: [8, J], data: z },
      ], { spec: JSON.stringify(plain), loss: JSON.stringify(loss) }));
      const gradsFile = join(run, 'torch-grads.safetensors');
      const { stdout } = await promisify(execFile)(PYTHON, [SCRIPT, 'check', join(run, 'model.safetensors'), inputs, gradsFile], { timeout: 600_000, maxBuffer: 1 << 26 });
      const r = JSON.parse(stdout.trim().split('\n').pop()!) as TorchCheck;

      // strict=True loaded every tensor of the checkpoint, and the module has exactly these.
      const expected = buildForward(spec, 1).params.map((p) => p.name).sort();
      expect(JSON.stringify(r.parameters) === JSON.stringify(expected), `PyTorch's state_dict: ${r.parameters.join(', ')}; ours: ${expected.join(', ')}`);

      // The loss and its terms (float32 on the GPU, float64 in PyTorch).
      for (const k of ['loss', 'recon', 'kl'] as const) {
        expect(Math.abs(ours[k] - r[k]) <= 2e-5 * Math.abs(r[k]) + 1e-5, `${preset}: ${k} ${ours[k]}, PyTorch ${r[k]} (β ${loss.beta}, free bits ${freeBits.toFixed(4)})`);
      }
      expect(r.belowFreeBits === below, `PyTorch finds ${r.belowFreeBits} dimensions below λ, we ${below}`);

      // Every gradient element (tolerance as test/node/torch-grads.test.ts).
      const tg = readSafetensors(new Uint8Array(readFileSync(gradsFile)));
      let checked = 0;
      for (const [name, g] of grads) {
        const t = tg.tensors.get(name);
        expect(!!t, `PyTorch gave no gradient for ${name}`);
        const want = tensorAsF32(t!, name);
        const floor = 1e-4 * want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        let worst = -1, excess = 0;
        for (let i = 0; i < want.length; i++) {
          const e = Math.abs(g[i]! - want[i]!) / (2e-3 * Math.abs(want[i]!) + floor);
          if (!(e <= 1) && (worst < 0 || e > excess)) [worst, excess] = [i, e];
        }
        expect(worst < 0, `${preset}: grad ${name}[${worst}] = ${g[worst]}, PyTorch ${want[worst]} (exceeded the tolerance ${excess.toFixed(1)}×)`);
        checked += want.length;
      }

      // Greedy decoding, token for token; the codes give different strings, so the decoder's use of z is compared too.
      const torchTokens = r.decoded.flat();
      const firstDiff = torchTokens.findIndex((t, i) => t !== decoded[i]);
      expect(torchTokens.length === decoded.length && firstDiff < 0, `${preset}: greedy decoding differs at row ${Math.floor(firstDiff / T)}, step ${firstDiff % T}: ours ${decoded.subarray(Math.floor(firstDiff / T) * T, Math.floor(firstDiff / T) * T + T).join(' ')}, PyTorch ${r.decoded[Math.floor(firstDiff / T)]?.join(' ')}`);
      const strings = r.decoded.map((row) => sets.vocab.decode(row));
      expect(new Set(strings).size >= 3, `${preset}: the 8 codes decode to only ${new Set(strings).size} distinct strings (${strings.join(' | ')}): too few to compare`);

      // Word dropout's positions: with p = 1 every non-padding previous token at t > 0 is UNK, START stays.
      const ref = gatherOneHotRef(ids, identity(BATCH), { batch: BATCH, steps: T, vocab: V, ids: SPECIAL_IDS, shift: true, drop: 2 ** 24, seed: 1, step: 1 });
      const refIds = Array.from({ length: BATCH * T }, (_, i) => {
        const row = ref.subarray(i * V, (i + 1) * V);
        const k = row.indexOf(1);
        return k < 0 ? SPECIAL_IDS.pad : k;
      });
      const dropDiff = r.droppedAll.flat().findIndex((t, i) => t !== refIds[i]);
      expect(dropDiff < 0, `${preset}: word dropout (p = 1) at row ${Math.floor(dropDiff / T)}, step ${dropDiff % T}: PyTorch ${r.droppedAll.flat()[dropDiff]}, ours ${refIds[dropDiff]}`);
      console.log(`# ${preset}: loss ${ours.loss.toFixed(5)} vs PyTorch ${r.loss.toFixed(5)}; ${checked} gradient elements within tolerance; 8 greedy decodes equal (${new Set(strings).size} distinct: ${strings.slice(0, 3).join(' | ')} …)`);
    } finally {
      dec.destroy();
      inf.destroy();
      destroyBuffer(device, pbuf);
    }
  });
}
