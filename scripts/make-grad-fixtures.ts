/**
 * Makes test/fixtures/torch-grads/<case>.safetensors: for each preset (and
 * small models of the other layer types), fixed parameters, a batch of real
 * digits, the latent noise the GPU draws for the step, and the loss and
 * every parameter gradient PyTorch's autograd computes in float64 for the
 * same model (scripts/torch_vae.py builds it from the model definition).
 * test/node/torch-grads.test.ts runs the same step on the GPU and compares
 * every element. Needs Debian's python3-torch; run once (naming cases to make
 * only those):
 *
 *   node --import tsx scripts/make-grad-fixtures.ts [mlp-iwae5 …]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMnistNode } from '../src/data/mnist.ts';
import { readSafetensors, tensorAsF32, writeSafetensors, type TensorToWrite } from '../src/io/safetensors.ts';
import { randomNormalRef } from '../src/ref/philox.ts';
import { initParams } from '../src/train/params.ts';
import { previousTokenRows } from '../src/data/model-inputs.ts';
import { SPECIAL_IDS } from '../src/data/tokens.ts';
import { buildForward } from '../src/graph/build.ts';
import { tokenInputs } from '../src/graph/ops/embedding.ts';
import { GRAD_CASES, GRAD_SEED, samplesOf } from './grad-cases.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const OUT = join(ROOT, 'test', 'fixtures', 'torch-grads');
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';

const { test } = await loadMnistNode();
mkdirSync(OUT, { recursive: true });
const tmp = mkdtempSync(join(tmpdir(), 'grad-fixtures-'));
// Case names as arguments: only those (default: every case).
const only = process.argv.slice(2);
const unknown = only.filter((n) => !GRAD_CASES.some((c) => c.name === n));
if (unknown.length) throw new Error(`unknown case ${unknown.join(', ')}; expected ${GRAD_CASES.map((c) => c.name).join(', ')}`);
try {
  for (const c of GRAD_CASES.filter((x) => only.length === 0 || only.includes(x.name))) {
    const spec = c.spec;
    const D = spec.input.reduce((a, b) => a * b, 1);
    const params = initParams(buildForward(spec, 1), GRAD_SEED);
    const x = new Float32Array(c.batch * D);
    const tokens = tokenInputs(buildForward(spec, 1).graph).get('x');
    // A model that reads x as token indices gets fixed pseudo-random indices in [0, vocab).
    for (let i = 0; i < x.length; i++) x[i] = tokens ? (Math.imul(i + 1, 2654435761) >>> 8) % tokens.vocab : test.data[i]! / 255;
    const rows = c.batch * samplesOf(c);
    const eps = Float32Array.from(randomNormalRef({ seed: GRAD_SEED, step: 1, stream: 0 }, rows * spec.latent));
    const tensors: TensorToWrite[] = [...params].map(([name, data]) => ({ name, shape: buildForward(spec, 1).params.find((p) => p.name === name)!.shape, data }));
    tensors.push({ name: 'input.x', shape: [c.batch, ...spec.input], data: x }, { name: 'input.eps', shape: [rows, spec.latent], data: eps });
    for (const [name, e] of Object.entries(spec.extraInputs ?? {})) {
      if (e.type === 'previous-tokens') {
        const [T, V] = spec.input as [number, number];
        tensors.push({ name: `input.extra.${name}`, shape: [c.batch, T, V], data: previousTokenRows(x, c.batch, T, V, SPECIAL_IDS) });
        continue;
      }
      const v = new Float32Array(c.batch * e.classes);
      for (let i = 0; i < c.batch; i++) v[i * e.classes + (test.labels![i]! % e.classes)] = 1;
      tensors.push({ name: `input.extra.${name}`, shape: [c.batch, e.classes], data: v });
    }
    const src = join(tmp, `${c.name}.in.safetensors`), dst = join(tmp, `${c.name}.out.safetensors`);
    writeFileSync(src, writeSafetensors(tensors, { spec: JSON.stringify(spec), loss: JSON.stringify(c.loss) }));
    execFileSync(PYTHON, [join(ROOT, 'scripts', 'torch_grads.py'), src, dst], { stdio: 'inherit', cwd: join(ROOT, 'scripts') });
    const out = readSafetensors(new Uint8Array(readFileSync(dst)));
    const grads: TensorToWrite[] = [...out.tensors].map(([name, t]) => ({ name: `grad.${name}`, shape: t.shape, data: tensorAsF32(t, name) }));
    const meta = { case: c.name, seed: String(GRAD_SEED), loss: out.metadata.loss!, recon: out.metadata.recon!, kl: out.metadata.kl!, torch: out.metadata.torch!, made_by: 'scripts/make-grad-fixtures.ts' };
    writeFileSync(join(OUT, `${c.name}.safetensors`), writeSafetensors([...tensors.filter((t) => !t.name.startsWith('input.eps')), ...grads], meta));
    console.log(`${c.name}: loss ${meta.loss} (PyTorch ${meta.torch}), ${grads.length} gradients`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
