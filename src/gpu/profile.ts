/**
 * The kernel profile of a device: which of the kernels' two sets of choices
 * it runs. Every kernel that chooses by adapter asks `kernelProfile` and
 * nothing else:
 *
 * - `gpu`: the portable kernels and whole-warp workgroups (matmul `direct`,
 *   conv `general`, reduction trees of 256, ELBO workgroups of 64, the
 *   autotune also trying the shared-memory `tiled` matmul);
 * - `cpu`: the choices for adapters that run workgroups on CPU threads
 *   (register-blocked matmul and conv, trees of 16, ELBO workgroups of 4).
 *
 * By default (`auto`) a software adapter (SwiftShader, llvmpipe/lavapipe,
 * WARP) gets `cpu` and any other `gpu`. A profile can be forced per device,
 * with `requestGpu({ profile })`, the environment variable
 * WEBGPU_VAE_ADAPTER_PROFILE (Node), or `setKernelProfile` for a device made
 * elsewhere, so that either set of kernels can run, and be tested, on any
 * adapter. Set it before making the kernel calls: calls already made keep
 * the pipelines they were made with.
 */

/** Accepted profile names: a forced profile, or `auto` (chosen from the adapter). */
export const ADAPTER_PROFILES = ['gpu', 'cpu', 'auto'] as const;

export type AdapterProfile = (typeof ADAPTER_PROFILES)[number];

/** The profile a device runs: `auto` resolved. */
export type KernelProfile = Exclude<AdapterProfile, 'auto'>;

/** The environment variable read by requestGpu in Node. */
export const PROFILE_ENV = 'WEBGPU_VAE_ADAPTER_PROFILE';

/** Checks a profile name; anything else is a one-line error naming the accepted values. */
export function parseAdapterProfile(value: unknown, where = 'adapter profile'): AdapterProfile {
  if (typeof value === 'string' && (ADAPTER_PROFILES as readonly string[]).includes(value)) return value as AdapterProfile;
  throw new Error(`${where}: ${JSON.stringify(value)} is not an adapter profile; expected one of ${ADAPTER_PROFILES.join(', ')}`);
}

/** The profile named by WEBGPU_VAE_ADAPTER_PROFILE (checked), or undefined when unset or outside Node. */
export function profileFromEnvironment(): AdapterProfile | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const v = env?.[PROFILE_ENV];
  if (v === undefined || v === '') return undefined;
  return parseAdapterProfile(v, PROFILE_ENV);
}

/** What an adapter says about itself (GPUAdapterInfo, in whole or part). */
export interface AdapterDescription {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly device?: string;
  readonly description?: string;
  readonly isFallbackAdapter?: boolean;
}

/** True when the adapter is a software rasterizer running on the CPU (SwiftShader, llvmpipe/lavapipe, WARP). */
export function isSoftwareAdapter(info: AdapterDescription | undefined): boolean {
  if (!info) return false;
  if (info.isFallbackAdapter === true) return true;
  return /swiftshader|llvmpipe|lavapipe|warp|software/i.test(`${info.architecture ?? ''} ${info.description ?? ''} ${info.vendor ?? ''} ${info.device ?? ''}`);
}

/** The profile `auto` gives an adapter. */
export function autoProfile(info: AdapterDescription | undefined): KernelProfile {
  return isSoftwareAdapter(info) ? 'cpu' : 'gpu';
}

interface Recorded {
  readonly profile: KernelProfile;
  readonly forced: boolean;
}

const recorded = new WeakMap<GPUDevice, Recorded>();

/**
 * Sets the kernel profile of a device: `gpu` or `cpu` forces it, `auto`
 * chooses from the adapter (its info as given, else the device's
 * `adapterInfo`). requestGpu calls it for the devices it makes; call it for a
 * device made elsewhere.
 */
export function setKernelProfile(device: GPUDevice, profile: AdapterProfile, info?: AdapterDescription): KernelProfile {
  const p = parseAdapterProfile(profile, 'setKernelProfile');
  const resolved = p === 'auto' ? autoProfile(info ?? deviceAdapterInfo(device)) : p;
  recorded.set(device, { profile: resolved, forced: p !== 'auto' });
  return resolved;
}

/** The kernel profile of a device: the one set for it, else chosen from its adapter. */
export function kernelProfile(device: GPUDevice): KernelProfile {
  return recorded.get(device)?.profile ?? autoProfile(deviceAdapterInfo(device));
}

/** Whether the device's profile was forced (not chosen from the adapter). */
export function isProfileForced(device: GPUDevice): boolean {
  return recorded.get(device)?.forced ?? false;
}

function deviceAdapterInfo(device: GPUDevice): AdapterDescription | undefined {
  return (device as GPUDevice & { adapterInfo?: AdapterDescription }).adapterInfo;
}
