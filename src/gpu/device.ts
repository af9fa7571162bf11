/**
 * Getting a GPUDevice, in a browser (navigator.gpu) or in Node (Dawn, through
 * the `webgpu` package). This is the only module that knows where WebGPU
 * comes from.
 */
import { decideIcd, describeIcd, manifestNames, type IcdDecision, type IcdFs } from './icd.ts';

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
  /** Node only: receives one line saying which Vulkan driver Dawn was given and why (default: the SwiftShader fallback goes to console.warn). */
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

/** The Vulkan driver file webgpu-vae itself put in VK_ICD_FILENAMES (so it is not taken for the user's), and why. */
let icdSetHere: { value: string; reason: string } | null = null;

type NodeEnv = Record<string, string | undefined>;

/**
 * Asks Dawn for an adapter in a child process whose output is kept: 'adapter',
 * 'none', or 'failed' when the probe itself did not run to the end.
 */
async function probeInChild(env: NodeEnv): Promise<'adapter' | 'none' | 'failed'> {
  const resolve = (import.meta as { resolve?: (s: string) => string }).resolve;
  const proc = (globalThis as unknown as { process: { execPath: string } }).process;
  let url: string;
  try {
    url = resolve!('webgpu');
  } catch {
    return 'failed';
  }
  const cp = await nodeImport<typeof import('node:child_process')>('node:child_process');
  const script = "const { create } = await import(process.argv[1]); const a = await create([]).requestAdapter(); process.stdout.write(a ? 'adapter' : 'none'); process.exit(0);";
  const r = cp.spawnSync(proc.execPath, ['--input-type=module', '-e', script, url], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  return r.status === 0 && (r.stdout === 'adapter' || r.stdout === 'none') ? r.stdout : 'failed';
}

/**
 * Decides which Vulkan driver Dawn gets (see icd.ts) and sets
 * VK_ICD_FILENAMES to SwiftShader when it is the choice. Returns the reason.
 * When GPU drivers are installed but the machine has no GPU device node, the
 * drivers are tried in a child process first, so that their complaints on the
 * way to finding no adapter stay out of the user's terminal.
 */
async function chooseIcd(env: NodeEnv, home: string, fs: IcdFs): Promise<{ decision: IcdDecision; reason: string }> {
  const decision = decideIcd(env, home, fs, SWIFTSHADER_ICD);
  let reason = describeIcd(decision);
  let icd = decision.kind === 'swiftshader' ? decision.icd : null;
  if (decision.kind === 'gpu' && !decision.devices && decision.swiftshader && (await probeInChild(env)) === 'none') {
    icd = decision.swiftshader;
    reason = `the installed Vulkan drivers (${manifestNames(decision.drivers)}) give Dawn no adapter and there is no GPU device, so webgpu-vae uses SwiftShader (software Vulkan on the CPU, ${icd})`;
  }
  if (icd) {
    env.VK_ICD_FILENAMES = icd;
    icdSetHere = { value: icd, reason };
  }
  return { decision, reason };
}

/**
 * Chooses the Vulkan driver before Dawn makes its first instance: on a
 * machine without a GPU, SwiftShader is set up front, so Dawn never starts
 * without a usable driver and prints none of its warnings ("Found no
 * drivers!"). A GPU, or VK_ICD_FILENAMES set by the user, is left to Dawn,
 * with SwiftShader as the fallback when that finds no adapter.
 */
async function nodeAdapter(opts: DeviceOptions): Promise<GPUAdapter> {
  const pkg = 'webgpu';
  let mod: { create: (flags: string[]) => GpuLike; globals: object };
  try {
    mod = await nodeImport(pkg);
  } catch (e) {
    throw new WebGPUUnavailableError(`WebGPU for Node needs the 'webgpu' package (Dawn): run \`npm install\` (${(e as Error).message})`);
  }
  Object.assign(globalThis, mod.globals);
  const env = (globalThis as unknown as { process: { env: NodeEnv } }).process.env;
  const os = await nodeImport<typeof import('node:os')>('node:os');
  const fs = await nodeImport<typeof import('node:fs')>('node:fs');
  if (!env.XDG_RUNTIME_DIR) {
    // Dawn prints harmless warnings without it; point it at a private temp folder.
    const dir = `${os.tmpdir()}/webgpu-vae-xdg-${os.userInfo().uid}`;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    env.XDG_RUNTIME_DIR = dir;
  }
  // The SwiftShader fallback goes to console.warn unless the caller passes `log`; other choices only to `log`.
  const report = (message: string) => {
    if (opts.log) opts.log(message);
    else if (env.VK_ICD_FILENAMES === icdSetHere?.value) console.warn(`webgpu-vae: ${message}`);
  };
  const ours = icdSetHere && env.VK_ICD_FILENAMES === icdSetHere.value;
  const { decision, reason } = ours ? { decision: null, reason: icdSetHere!.reason } : await chooseIcd(env, os.homedir(), fs);
  if (decision?.kind === 'none') return noAdapter(reason);
  const adapter = await dawnInstance(mod).requestAdapter();
  if (adapter) {
    report(reason);
    return adapter;
  }
  if (decision?.kind === 'gpu' && decision.swiftshader && env.VK_ICD_FILENAMES !== decision.swiftshader) {
    // A GPU driver and device, but no adapter (a driver Dawn rejects, or a device it cannot use).
    const why = `the installed Vulkan drivers (${manifestNames(decision.drivers)}) gave Dawn no adapter, so webgpu-vae uses SwiftShader (software Vulkan on the CPU, ${decision.swiftshader})`;
    env.VK_ICD_FILENAMES = decision.swiftshader;
    icdSetHere = { value: decision.swiftshader, reason: why };
    const fallback = await dawnInstance(mod).requestAdapter();
    if (fallback) {
      report(why);
      return fallback;
    }
  }
  return noAdapter(reason);
}

function noAdapter(reason: string): never {
  throw new WebGPUUnavailableError(
    `no WebGPU adapter found by Dawn: ${reason}. On a machine without a GPU, install SwiftShader with ` +
      "`apt-get install chromium libvulkan1` (or set VK_ICD_FILENAMES to a Vulkan ICD manifest).",
  );
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
