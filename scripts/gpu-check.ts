/**
 * `npm run gpu-check`: one command that checks webgpu-vae on this machine's
 * GPU and writes one JSON to report: in Node (Dawn on the machine's Vulkan,
 * Metal or D3D12 adapter; SwiftShader when there is none) and in headless
 * Chrome with the GPU (SwiftShader when Chrome finds none), each runs the
 * kernel cases under the adapter's own kernel profile, a training smoke run,
 * and `bench --kernels --train`, and records the adapter's info, features
 * and limits, each kernel's GFLOP/s or GB/s beside a rough peak for that kind
 * of adapter, and the matmul kernel each product runs.
 *
 *   npm run gpu-check [-- --quick] [--out FILE] [--no-browser]
 *
 * --quick runs the whole-model gradient checks instead of every kernel case,
 * a shorter smoke run, the benchmark's quick mode with the mlp step only, and
 * no autotune. Exit status 1 when a case failed, the smoke run did not
 * train or a stage threw; the JSON is written either way.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, platform, arch, release } from 'node:os';
import { dirname, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { loadMnistNode } from '../src/data/mnist.ts';
import { requestGpu } from '../src/gpu/device.ts';
import { startVite } from '../test/browser/chromium.ts';
import { chromiumExecutable, SWIFTSHADER_FLAG, WEBGPU_CHROMIUM_FLAGS } from '../src/testing/chromium.ts';
import { PEAK_NOTE } from './gpu-check/peaks.ts';
import { checkRuntime, QUICK_CASES, type RuntimeReport } from './gpu-check/run.ts';

interface Options { quick: boolean; out: string; browser: boolean }

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { quick: false, out: 'gpu-check.json', browser: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') o.quick = true;
    else if (a === '--no-browser') o.browser = false;
    else if (a === '--out') {
      const v = argv[++i];
      if (!v) throw new Error('gpu-check: --out needs a file name');
      o.out = v;
    } else throw new Error(`gpu-check: unknown option '${a}': expected --quick, --out FILE or --no-browser`);
  }
  return o;
}

type ChromiumReport = (RuntimeReport & { readonly browser: string; readonly launch: string }) | { readonly skipped: string } | { readonly failed: string };

/** Runs the page in headless Chrome: first asking for the machine's GPU, then on SwiftShader if Chrome finds no adapter. */
async function chromiumCheck(quick: boolean, log: (s: string) => void): Promise<ChromiumReport> {
  let path: string;
  try {
    path = chromiumExecutable();
  } catch (e) {
    return { skipped: (e as Error).message };
  }
  const { server, url } = await startVite();
  try {
    const gpuFlags = WEBGPU_CHROMIUM_FLAGS.filter((f) => f !== SWIFTSHADER_FLAG);
    const swiftFlags = [...gpuFlags, SWIFTSHADER_FLAG];
    for (const [launch, args] of [['the machine\'s GPU (no adapter forced)', gpuFlags], ['SwiftShader (--use-webgpu-adapter=swiftshader), as Chrome found no adapter otherwise', swiftFlags]] as const) {
      let browser: Browser | null = null;
      try {
        browser = await chromium.launch({ executablePath: path, headless: true, args: [...args] });
        const page = await browser.newPage();
        await page.goto(`${url}/scripts/gpu-check/page.html${quick ? '?quick' : ''}`);
        let shown = 0;
        for (;;) {
          const state = await page.evaluate(() => window.__gpuCheck);
          const lines = ((await page.textContent('#log')) ?? '').split('\n');
          for (const l of lines.slice(Math.max(1, shown))) log(`[chrome] ${l}`);
          shown = Math.max(shown, lines.length);
          if (state?.done) {
            if (state.report) return { ...state.report, browser: `${browser.browserType().name()} ${browser.version()}`, launch };
            if (/no adapter|requestAdapter\(\) returned no adapter|has no WebGPU/.test(state.error ?? '')) break;
            throw new Error(`the gpu-check page failed: ${state.error}`);
          }
          await new Promise((r) => setTimeout(r, 1000));
        }
        log(`[chrome] no WebGPU adapter with ${launch}`);
      } finally {
        await browser?.close();
      }
    }
    return { skipped: 'headless Chrome found no WebGPU adapter, not even SwiftShader' };
  } finally {
    await server.close();
  }
}

function summary(name: string, r: RuntimeReport): string[] {
  const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toPrecision(2)}%`);
  const lines = [
    `${name}: ${`${r.adapter.vendor} ${r.adapter.architecture} ${r.adapter.description}`.replace(/\s+/g, ' ').trim()}${r.isSoftware ? ' (software)' : ''}; kernel profile '${r.kernelProfile}'`,
    `  kernel cases: ${r.cases.passed}/${r.cases.total} passed${r.cases.failures.map((f) => `\n    FAIL ${f.name}: ${f.error}`).join('')}`,
    ...r.errors.map((e) => `  FAILED ${e}`),
    `  training smoke run: test loss ${r.training.testLoss.map((v) => v.toFixed(2)).join(' -> ')} (${r.training.samplesPerSecond.toFixed(0)} samples/s): ${r.training.ok ? 'ok' : `FAILED: ${r.training.problem}`}`,
    ...r.trainingBench.map((t) => `  train ${t.model} (batch ${t.batch}): ${t.samplesPerSecond.toFixed(1)} samples/s`),
    `  kernels (rate; share of the rough peak for ${r.peak ? `a ${r.peak.kind}: ${r.peak.gflops} GFLOP/s, ${r.peak.gbps} GB/s` : 'an unknown kind of adapter'}):`,
    ...r.kernels.map((k) => `    ${k.name.padEnd(62)} ${k.rate.toFixed(2).padStart(9)} ${k.unit.padEnd(8)} ${pct(k.shareOfPeak).padStart(6)}`),
  ];
  return lines;
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const log = (s: string) => console.log(s);
  const t0 = performance.now();
  const gpu = await requestGpu({ profile: 'auto', log: (m) => console.error(m) });
  log(`node adapter: ${gpu.summary}`);
  const data = await loadMnistNode();
  let node: RuntimeReport;
  try {
    node = await checkRuntime(gpu, data, opts.quick, log);
  } finally {
    gpu.device.destroy();
  }
  let browser: ChromiumReport = { skipped: '--no-browser' };
  if (opts.browser) {
    try {
      browser = await chromiumCheck(opts.quick, log);
    } catch (e) {
      browser = { failed: (e as Error).message };
      log(`chromium: FAILED: ${(e as Error).message}`);
    }
  }
  const pkg = (name: string) => JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version as string;
  const runtimes: [string, RuntimeReport][] = [['node', node], ...('skipped' in browser || 'failed' in browser ? [] : [['chromium', browser] as [string, RuntimeReport]])];
  const ok = !('failed' in browser) && runtimes.every(([, r]) => r.cases.failures.length === 0 && r.training.ok && r.errors.length === 0);
  const report = {
    tool: 'webgpu-vae gpu-check', version: (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version,
    date: new Date().toISOString(), quick: opts.quick, quickCases: opts.quick ? QUICK_CASES : null, ok,
    machine: { platform: platform(), release: release(), arch: arch(), cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, dawn: `webgpu@${pkg('webgpu')}` },
    peakNote: PEAK_NOTE, seconds: (performance.now() - t0) / 1000, node, chromium: browser,
  };
  const out = resolve(opts.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  log('');
  for (const [name, r] of runtimes) for (const l of summary(name, r)) log(l);
  if ('skipped' in browser) log(`chromium: not run (${browser.skipped})`);
  if ('failed' in browser) log(`chromium: FAILED (${browser.failed})`);
  log(`${ok ? 'ok' : 'FAILED'}: wrote ${out}`);
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error((e as Error).message);
    process.exit(1);
  },
);
