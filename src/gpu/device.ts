/**
 * Getting a GPUDevice, in a browser (navigator.gpu) or in Node (Dawn, through
 * the `webgpu` package). This is the only module that knows where WebGPU
 * comes from.
 */

import { isSoftwareAdapter, parseAdapterProfile, profileFromEnvironment, setKernelProfile, type AdapterProfile, type KernelProfile } from './profile.ts';

/** Limits the kernels need beyond the WebGPU defaults; requested when the adapter has them. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxStorageBuffersPerShaderStage',
] as const;

const OPTIONAL_FEATURES: readonly GPUFeatureName[] = ['timestamp-query', 'subgroups'];

/** Where SwiftShader's Vulkan driver lives on Debian (installed with the `chromium` package). */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export interface DeviceOptions {
  /** Adapter power preference (browser hint). */
  readonly powerPreference?: GPUPowerPreference;
  /** Node only: how to report the SwiftShader fallback (default: console.warn). */
  readonly log?: (message: string) => void;
  /** Called when the device is lost, with the reason and message. */
  readonly onLost?: (info: GPUDeviceLostInfo) => void;
  /** Called for GPU errors nobody captured (validation, out of memory). */
  readonly onError?: (error: GPUError) => void;
  /**
   * Kernel choices (src/gpu/profile.ts): `gpu` or `cpu` forces them on any
   * adapter, `auto` picks from the adapter. Default: WEBGPU_VAE_ADAPTER_PROFILE
   * in Node when set, else `auto`.
   */
  readonly profile?: AdapterProfile;
}

export interface GpuHandle {
  readonly device: GPUDevice;
  readonly adapterInfo: { vendor: string; architecture: string; device: string; description: string };
  /** True when the adapter is a software rasterizer (SwiftShader, lavapipe, WARP). */
  readonly isSoftware: boolean;
  /** 'browser' or 'node'. */
  readonly runtime: 'browser' | 'node';
  /** The kernel profile the device runs (src/gpu/profile.ts). */
  readonly profile: KernelProfile;
  /** True when the profile was forced (option or WEBGPU_VAE_ADAPTER_PROFILE), not chosen from the adapter. */
  readonly profileForced: boolean;
  /** A line that says what was found, for logs. */
  readonly summary: string;
}

/** Thrown when no WebGPU implementation or adapter can be found. */
export class WebGPUUnavailableError extends Error {
  override readonly name = 'WebGPUUnavailableError';
}

type GpuLike = Pick<GPU, 'requestAdapter'>;

/**
 * Dawn instances made in Node. They are kept referenced for the life of the
 * process: when an instance is garbage-collected while its devices are still
 * in use, Dawn crashes in native code.
 */
const dawnInstances: GpuLike[] = [];

function dawnInstance(mod: { create: (flags: string[]) => GpuLike }): GpuLike {
  const inst = mod.create([]);
  dawnInstances.push(inst);
  return inst;
}

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string' && typeof (globalThis as { window?: unknown }).window === 'undefined';
}

/**
 * Imports a Node-only module by a name bundlers do not see, so that a browser
 * build of an app that uses webgpu-vae neither bundles nor warns about it.
 */
function nodeImport<T>(name: string): Promise<T> {
  return import(/* @vite-ignore */ /* webpackIgnore: true */ name) as Promise<T>;
}

async function nodeAdapter(opts: DeviceOptions): Promise<GPUAdapter> {
  const pkg = 'webgpu';
  let mod: { create: (flags: string[]) => GpuLike; globals: object };
  try {
    mod = await nodeImport(pkg);
  } catch (e) {
    throw new WebGPUUnavailableError(`WebGPU for Node needs the 'webgpu' package (Dawn): run \`npm install\` (${(e as Error).message})`);
  }
  Object.assign(globalThis, mod.globals);
  const env = (globalThis as unknown as { process: { env: Record<string, string | undefined> } }).process.env;
  if (!env.XDG_RUNTIME_DIR) {
    // Dawn prints harmless warnings without it; point it at a private temp folder.
    const os = await nodeImport<typeof import('node:os')>('node:os');
    const fs = await nodeImport<typeof import('node:fs')>('node:fs');
    const dir = `${os.tmpdir()}/webgpu-vae-xdg-${os.userInfo().uid}`;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    env.XDG_RUNTIME_DIR = dir;
  }
  let adapter = await dawnInstance(mod).requestAdapter();
  if (!adapter && !env.VK_ICD_FILENAMES) {
    const fs = await nodeImport<typeof import('node:fs')>('node:fs');
    if (fs.existsSync(SWIFTSHADER_ICD)) {
      env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
      adapter = await dawnInstance(mod).requestAdapter();
      if (adapter) {
        (opts.log ?? console.warn)(`webgpu-vae: no GPU adapter found; using SwiftShader (software Vulkan, on the CPU) from ${SWIFTSHADER_ICD}`);
      }
    }
  }
  if (!adapter) {
    throw new WebGPUUnavailableError(
      'no WebGPU adapter found by Dawn. On a machine without a GPU, install SwiftShader with ' +
        "`apt-get install chromium libvulkan1` (or set VK_ICD_FILENAMES to a Vulkan ICD manifest).",
    );
  }
  return adapter;
}

async function browserAdapter(opts: DeviceOptions): Promise<GPUAdapter> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) {
    const secure = (globalThis as { isSecureContext?: boolean }).isSecureContext;
    throw new WebGPUUnavailableError(
      secure === false
        ? 'WebGPU needs a secure context: serve the page over https or from localhost.'
        : 'this browser has no WebGPU (navigator.gpu is missing): use a recent Chrome or Edge, or enable WebGPU in the browser settings.',
    );
  }
  const adapter = await gpu.requestAdapter(opts.powerPreference ? { powerPreference: opts.powerPreference } : undefined);
  if (!adapter) throw new WebGPUUnavailableError('navigator.gpu.requestAdapter() returned no adapter: WebGPU may be disabled or blocklisted for this GPU.');
  return adapter;
}

/**
 * Gives a GPUDevice with the limits and optional features the kernels can use.
 * In Node it falls back to SwiftShader when Dawn finds no hardware adapter, and
 * says so through `opts.log`.
 */
export async function requestGpu(opts: DeviceOptions = {}): Promise<GpuHandle> {
  const wanted = opts.profile === undefined ? profileFromEnvironment() ?? 'auto' : parseAdapterProfile(opts.profile, 'requestGpu profile');
  const runtime = isNode() ? 'node' : 'browser';
  const adapter = runtime === 'node' ? await nodeAdapter(opts) : await browserAdapter(opts);
  const requiredLimits: Record<string, number> = {};
  for (const k of WANTED_LIMITS) requiredLimits[k] = adapter.limits[k];
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'webgpu-vae' });
  const info = adapter.info;
  const adapterInfo = {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
  };
  const isSoftware = isSoftwareAdapter({ ...adapterInfo, isFallbackAdapter: (info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter });
  const profile = setKernelProfile(device, wanted, { ...adapterInfo, isFallbackAdapter: isSoftware });
  device.lost.then((lost) => {
    if (opts.onLost) opts.onLost(lost);
    else if (lost.reason !== 'destroyed') console.error(`webgpu-vae: GPU device lost (${lost.reason}): ${lost.message}`);
  });
  device.addEventListener('uncapturederror', (ev) => {
    const err = (ev as GPUUncapturedErrorEvent).error;
    if (opts.onError) opts.onError(err);
    else console.error(`webgpu-vae: uncaptured GPU error: ${err.message}`);
  });
  const summary = `${runtime}: ${adapterInfo.vendor || 'unknown vendor'} ${adapterInfo.architecture || ''} ${adapterInfo.description || ''}`.replace(/\s+/g, ' ').trim() + (isSoftware ? ' (software)' : '') +
    (wanted === 'auto' ? '' : `; kernel profile '${profile}' (forced)`);
  return { device, adapterInfo, isSoftware, runtime, profile, profileForced: wanted !== 'auto', summary };
}
