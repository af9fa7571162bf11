/**
 * Asserts that a page got a WebGPU adapter and names it. When it did not,
 * the error says which of the usual causes it was: an insecure context, a
 * browser build without WebGPU, or a browser launched without the flags.
 */

/** Any page with Playwright's `evaluate` and `url` (Page of playwright or playwright-core). */
export interface EvaluatingPage {
  evaluate(expression: string): Promise<unknown>;
  url(): string;
}

export interface AdapterReport {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** The adapter's own fallback flag (GPUAdapterInfo.isFallbackAdapter). */
  readonly isFallbackAdapter: boolean;
  /** A software rasterizer (SwiftShader, lavapipe, llvmpipe, WARP) or a fallback adapter. */
  readonly software: boolean;
  /** Optional features, sorted. */
  readonly features: readonly string[];
  /** e.g. `google swiftshader (software)`: for logs. */
  readonly summary: string;
}

export interface AdapterExpectation {
  /** Also require a software (true) or a hardware (false) adapter. */
  readonly software?: boolean;
}

interface Probe {
  readonly secure: boolean;
  readonly hasGpu: boolean;
  readonly userAgent: string;
  readonly adapter?: {
    readonly vendor: string; readonly architecture: string; readonly device: string; readonly description: string;
    readonly isFallbackAdapter: boolean; readonly features: string[];
  } | null;
  readonly error?: string;
}

// A string, not a function: a test runner's transpiler may add helpers to a
// function's source that do not exist in the page.
const PROBE = `(async () => {
  const out = { secure: window.isSecureContext === true, hasGpu: !!navigator.gpu, userAgent: navigator.userAgent };
  if (!out.hasGpu) return out;
  try {
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) return { ...out, adapter: null };
    const i = adapter.info || (adapter.requestAdapterInfo ? await adapter.requestAdapterInfo() : {});
    return { ...out, adapter: {
      vendor: i.vendor || '', architecture: i.architecture || '', device: i.device || '', description: i.description || '',
      isFallbackAdapter: i.isFallbackAdapter === true || adapter.isFallbackAdapter === true,
      features: [...adapter.features].sort(),
    } };
  } catch (e) {
    return { ...out, error: String(e && e.message || e) };
  }
})()`;

const SOFTWARE = /swiftshader|lavapipe|llvmpipe|warp|software/i;

/**
 * Requests an adapter in the page (which must already be loaded) and returns
 * what it is; throws a one-line error naming the cause when there is none, or
 * when `expect.software` does not hold.
 */
export async function expectWebGpuAdapter(page: EvaluatingPage, expect: AdapterExpectation = {}): Promise<AdapterReport> {
  const url = page.url();
  const probe = (await page.evaluate(PROBE)) as Probe;
  if (!probe.secure) {
    throw new Error(`no WebGPU at ${url}: the page is not a secure context; serve it from http://127.0.0.1 or http://localhost (serveFolder does): a data: URL or plain http from another address is not one`);
  }
  if (!probe.hasGpu) {
    throw new Error(`no WebGPU at ${url}: navigator.gpu is missing in a secure context, so this browser build has none (Playwright's headless shell has none; launch a full Chrome/Chromium with webgpuLaunchOptions()); user agent: ${probe.userAgent}`);
  }
  if (probe.error !== undefined) throw new Error(`no WebGPU at ${url}: navigator.gpu.requestAdapter() threw: ${probe.error}`);
  const a = probe.adapter;
  if (!a) {
    throw new Error(`no WebGPU adapter at ${url}: navigator.gpu.requestAdapter() returned null; launch the browser with webgpuLaunchOptions()'s flags (--enable-unsafe-webgpu, and --use-webgpu-adapter=swiftshader where there is no GPU)`);
  }
  const software = a.isFallbackAdapter || SOFTWARE.test(`${a.vendor} ${a.architecture} ${a.description}`);
  const name = `${a.vendor || 'unknown vendor'} ${a.architecture} ${a.description}`.replace(/\s+/g, ' ').trim();
  const report: AdapterReport = { ...a, software, summary: `${name} (${software ? 'software' : 'hardware'})` };
  if (expect.software !== undefined && expect.software !== software) {
    throw new Error(`the WebGPU adapter at ${url} is ${report.summary}: expected a ${expect.software ? 'software' : 'hardware'} adapter`);
  }
  return report;
}
