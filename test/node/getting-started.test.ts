/**
 * docs/getting-started.md runs as written: its `ts getting-started` blocks,
 * joined in order, are one program (importing 'webgpu-vae', which resolves to
 * the sources through tsconfig paths), run in Node; what it prints is checked.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { REPO } from '../support/package.ts';

test('docs/getting-started.md: the program trains, evaluates, samples, saves and loads', { timeout: 10 * 60_000 }, async () => {
  const doc = readFileSync(join(REPO, 'docs', 'getting-started.md'), 'utf8');
  const blocks = [...doc.matchAll(/```ts getting-started\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length >= 5, `expected the five parts of the program, found ${blocks.length} blocks`);
  const dir = mkdtempSync(join(tmpdir(), 'webgpu-vae-getting-started-'));
  try {
    const file = join(dir, 'program.mts');
    writeFileSync(file, `${blocks.join('\n')}\nprocess.exit(0);\n`);
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file], { cwd: REPO, timeout: 9 * 60_000, maxBuffer: 16 << 20 });
    console.log(stdout.split('\n').map((l) => `# ${l}`).join('\n'));
    const epochs = [...stdout.matchAll(/^epoch (\d+): train loss ([\d.]+), test loss ([\d.]+)$/gm)].map((m) => ({ epoch: Number(m[1]), test: Number(m[3]) }));
    assert.deepEqual(epochs.map((e) => e.epoch), [1, 2, 3, 4, 5], 'one line per epoch');
    assert.ok(epochs[4]!.test < epochs[0]!.test, `test loss should fall over 5 epochs: ${epochs.map((e) => e.test).join(', ')}`);
    const elbo = /^test ELBO (-?[\d.]+), active units (\d) of 2$/m.exec(stdout);
    const restored = /^restored test ELBO (-?[\d.]+)$/m.exec(stdout);
    const nll = /^test NLL \(64 importance samples\) ([\d.]+)$/m.exec(stdout);
    assert.ok(elbo && restored && nll, `missing evaluation lines in:\n${stdout}`);
    assert.equal(restored[1], elbo[1], 'the saved and reloaded model evaluates to the same ELBO');
    assert.ok(Number(nll[1]) < -Number(elbo[1]) + 0.5, `the importance-weighted NLL (${nll[1]}) should not exceed −ELBO (${-Number(elbo[1])}) by more than noise`);
    assert.match(stdout, /^4 samples of 64 pixels, brightest 0\.\d\d$/m);
    assert.match(stdout, /^latent code of the first test picture: -?\d+\.\d\d, -?\d+\.\d\d$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
