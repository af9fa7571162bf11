/**
 * `npm run gpu-check` in quick mode, here on SwiftShader (Node and headless
 * Chromium): it exits 0 and writes one JSON with, per runtime, the adapter's
 * info, features and limits, the kernel cases it ran and passed, a training
 * smoke run whose test loss falls, each benchmarked kernel's rate beside the
 * rough peak of the adapter's kind (the software row here), and the matmul
 * kernel each training product runs, with why. A bad option is one line.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MATMUL_VARIANTS } from '../../src/kernels/matmul.ts';
import type { RuntimeReport } from '../../scripts/gpu-check/run.ts';
import { expect } from '../support/check.ts';

const REPO = new URL('../../', import.meta.url).pathname;
const SCRIPT = join(REPO, 'scripts', 'gpu-check.ts');
const dir = mkdtempSync(join(tmpdir(), 'webgpu-vae-gpu-check-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function checkRuntime(name: string, r: RuntimeReport): void {
  expect(typeof r.adapter.vendor === 'string' && r.adapter.vendor.length > 0 && r.isSoftware, `${name}: adapter ${JSON.stringify(r.adapter)}, software ${r.isSoftware}`);
  expect(r.kernelProfile === 'cpu', `${name}: SwiftShader's own profile is cpu, got ${r.kernelProfile}`);
  expect(r.features.includes('timestamp-query') && r.limits.maxStorageBuffersPerShaderStage! >= 8 && r.limits.maxComputeInvocationsPerWorkgroup! >= 256, `${name}: features ${r.features}, limits ${JSON.stringify(r.limits).slice(0, 200)}`);
  expect(r.errors.length === 0, `${name}: errors ${r.errors.join('; ')}`);
  expect(r.cases.total === 2 && r.cases.passed === 2 && r.cases.failures.length === 0, `${name}: cases ${JSON.stringify(r.cases)}`);
  const tl = r.training.testLoss;
  expect(r.training.ok && tl.length === 2 && tl[1]! < tl[0]! && tl.every(Number.isFinite), `${name}: smoke run ${JSON.stringify(r.training)}`);
  expect(r.peak !== null && /software/.test(r.peak.kind) && /rough/.test(r.peak.note), `${name}: peak ${JSON.stringify(r.peak)}`);
  expect(r.kernels.length >= 20, `${name}: ${r.kernels.length} kernels`);
  for (const k of r.kernels) {
    const peak = k.unit === 'GFLOP/s' ? r.peak!.gflops : r.peak!.gbps;
    expect(k.rate > 0 && k.peak === peak && Math.abs(k.shareOfPeak! - k.rate / peak) < 1e-12 && typeof k.kernel === 'string' && k.why === 'default', `${name}: kernel ${JSON.stringify(k)}`);
  }
  expect(r.trainingBench.map((t) => t.model).join(',') === 'mlp', `${name}: training bench ${r.trainingBench.map((t) => t.model)} (quick: mlp only)`);
  // The mlp's 11: fc1's forward and dW, three each for the heads (one product over both), fc3 and fc4.
  const products = r.trainingBench.reduce((a, t) => a + t.matmulChoices.length, 0);
  expect(r.matmulChoices.reduce((a, c) => a + c.products.length, 0) === products && products === 11, `${name}: ${products} products, ${r.matmulChoices.length} shapes`);
  for (const c of r.matmulChoices) {
    expect(/^\d+x\d+x\d+:[nt]{2}$/.test(c.shape) && (MATMUL_VARIANTS as readonly string[]).includes(c.variant) && c.why === "default of the 'cpu' kernel profile", `${name}: matmul choice ${JSON.stringify(c)}`);
  }
  expect('skipped' in r.autotune && r.autotune.skipped === 'quick mode', `${name}: autotune ${JSON.stringify(r.autotune)}`);
}

test('gpu-check --quick runs in Node and in headless Chromium and writes one JSON with what a report needs', { timeout: 900_000 }, async () => {
  const out = join(dir, 'report.json');
  const r = await run(['--quick', '--out', out]);
  expect(r.code === 0, `gpu-check exited ${r.code}: ${r.stderr.slice(-600)}\n${r.stdout.slice(-600)}`);
  expect(r.stdout.trim().endsWith(`ok: wrote ${out}`), `last line: ${r.stdout.trim().split('\n').pop()}`);
  const j = JSON.parse(readFileSync(out, 'utf8'));
  expect(j.tool === 'webgpu-vae gpu-check' && j.quick === true && j.ok === true && typeof j.machine.cores === 'number' && /^webgpu@/.test(j.machine.dawn), `header ${JSON.stringify({ ...j, node: undefined, chromium: undefined })}`);
  checkRuntime('node', j.node);
  expect(!('skipped' in j.chromium) && /chromium|chrome/i.test(j.chromium.browser) && typeof j.chromium.launch === 'string', `chromium: ${JSON.stringify(j.chromium).slice(0, 300)}`);
  checkRuntime('chromium', j.chromium);
});

test('gpu-check: an unknown option is one line and exit 1', { timeout: 60_000 }, async () => {
  const r = await run(['--fast']);
  expect(r.code === 1 && r.stderr.trim() === "gpu-check: unknown option '--fast': expected --quick, --out FILE or --no-browser", `exit ${r.code}, stderr ${r.stderr}`);
});
