/**
 * Shader modules, bind group layouts and compute pipelines, made once per
 * device and cached by (shader, entry point, override constants). A pipeline
 * can also be compiled in the background (computePipelineAsync): a kernel
 * call then dispatches a quick-to-compile stand-in with bit-identical results
 * until it is ready (see makeCall in dispatch.ts).
 */
import { entryInfo, pipelineLimitExcess, shaderInfo, type EntryInfo } from '../shaders/library.ts';
import { gpuWait } from './wait.ts';

export interface CachedPipeline {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly entry: EntryInfo;
  /** The override constants it was made with. */
  readonly constants: Readonly<Record<string, number>>;
}

/** What was asked for, whether made already or still compiling. */
export type PipelineRequest = Pick<CachedPipeline, 'entry' | 'constants'>;

interface DeviceCache {
  modules: Map<string, GPUShaderModule>;
  /** Bind group layouts (with their pipeline layout) by their entries: entry points that bind alike share them. */
  layouts: Map<string, { group: GPUBindGroupLayout; pipeline: GPUPipelineLayout }>;
  pipelines: Map<string, CachedPipeline>;
  /** Pipelines being compiled in the background. */
  pending: Map<string, { request: PipelineRequest; promise: Promise<CachedPipeline> }>;
  /** Settles when the last background compile asked for has finished. */
  queue: Promise<void>;
}

const caches = new WeakMap<GPUDevice, DeviceCache>();

function cacheFor(device: GPUDevice): DeviceCache {
  let c = caches.get(device);
  if (!c) {
    c = { modules: new Map(), layouts: new Map(), pipelines: new Map(), pending: new Map(), queue: Promise.resolve() };
    caches.set(device, c);
  }
  return c;
}

/** The shader module for a shader file (with its `requires`), made once per device. */
export function shaderModule(device: GPUDevice, shader: string): GPUShaderModule {
  const c = cacheFor(device);
  let m = c.modules.get(shader);
  if (!m) {
    m = device.createShaderModule({ code: shaderInfo(shader).source, label: `${shader}.wgsl` });
    c.modules.set(shader, m);
  }
  return m;
}

/**
 * Compile messages of a shader module, formatted with line, column and the
 * offending WGSL line. Empty when it compiles cleanly.
 */
export async function compileErrors(device: GPUDevice, shader: string): Promise<string[]> {
  const info = await shaderModule(device, shader).getCompilationInfo();
  const lines = shaderInfo(shader).source.split('\n');
  return info.messages
    .filter((m) => m.type === 'error')
    .map((m) => `${shader}.wgsl (module line ${m.lineNum}:${m.linePos}): ${m.message}\n  ${lines[m.lineNum - 1] ?? ''}`);
}

/** Number of pipelines made so far on a device (for tests of compile-once behaviour). */
export function pipelineCount(device: GPUDevice): number {
  return cacheFor(device).pipelines.size;
}

/** Every pipeline made or being compiled on a device, with its entry point and override constants. */
export function pipelinesOf(device: GPUDevice): PipelineRequest[] {
  const c = cacheFor(device);
  return [...c.pipelines.values(), ...[...c.pending.values()].map((p) => p.request)];
}

/** The bind group layout of an entry point, shared by every entry point with the same bindings (so their bind groups are interchangeable). */
function layoutFor(device: GPUDevice, info: EntryInfo): { group: GPUBindGroupLayout; pipeline: GPUPipelineLayout } {
  const key = info.bindings.map((b) => `${b.binding}:${b.kind}`).join(',');
  const c = cacheFor(device);
  let l = c.layouts.get(key);
  if (!l) {
    const group = device.createBindGroupLayout({
      label: `${info.shader}.${info.name}`,
      entries: info.bindings.map((b) => ({
        binding: b.binding,
        visibility: 0x4, // GPUShaderStage.COMPUTE
        buffer: { type: b.kind },
      })),
    });
    l = { group, pipeline: device.createPipelineLayout({ bindGroupLayouts: [group], label: `${info.shader}.${info.name}` }) };
    c.layouts.set(key, l);
  }
  return l;
}

interface Prepared {
  readonly key: string;
  readonly info: EntryInfo;
  readonly layout: { group: GPUBindGroupLayout; pipeline: GPUPipelineLayout };
  /** Makes the shader module (once per device) when called. */
  readonly descriptor: () => GPUComputePipelineDescriptor;
}

/** Checks the constants and the device's limits and gives the pipeline's cache key and descriptor. */
function prepare(device: GPUDevice, shader: string, entry: string, constants: Readonly<Record<string, number>>): Prepared {
  const key = pipelineKey(shader, entry, constants);
  const info = entryInfo(shader, entry);
  for (const k of Object.keys(constants)) {
    if (!info.overrides.includes(k)) {
      throw new Error(`${shader}.wgsl ${entry}: '${k}' is not an override constant of this entry point (it has: ${info.overrides.join(', ') || 'none'})`);
    }
  }
  // The device's limits (the adapter's, as requestGpu asks for them) are checked here, with a
  // clear message, rather than left to a validation error at the first dispatch.
  const excess = pipelineLimitExcess(info, constants, device.limits);
  if (excess.length) throw new Error(`${shader}.wgsl ${entry}: exceeds the device's limits: ${excess.join('; ')}`);
  const layout = layoutFor(device, info);
  return {
    key, info, layout,
    descriptor: () => ({ label: `${shader}.${entry}`, layout: layout.pipeline, compute: { module: shaderModule(device, shader), entryPoint: entry, constants: { ...constants } } }),
  };
}

function pipelineKey(shader: string, entry: string, constants: Readonly<Record<string, number>>): string {
  const keys = Object.keys(constants).sort();
  return `${shader}:${entry}:${keys.map((k) => `${k}=${constants[k]}`).join(',')}`;
}

/** The pipeline if it is made already (null while it compiles in the background, or before it is asked for). */
export function readyPipeline(device: GPUDevice, shader: string, entry: string, constants: Readonly<Record<string, number>> = {}): CachedPipeline | null {
  return cacheFor(device).pipelines.get(pipelineKey(shader, entry, constants)) ?? null;
}

/** The compute pipeline for one entry point and set of override constants, made once per device. */
export function computePipeline(
  device: GPUDevice,
  shader: string,
  entry: string,
  constants: Readonly<Record<string, number>> = {},
): CachedPipeline {
  const c = cacheFor(device);
  const made = c.pipelines.get(pipelineKey(shader, entry, constants));
  if (made) return made;
  const { key, info, layout, descriptor } = prepare(device, shader, entry, constants);
  const p: CachedPipeline = { pipeline: device.createComputePipeline(descriptor()), layout: layout.group, entry: info, constants: { ...constants } };
  c.pipelines.set(key, p);
  return p;
}

/**
 * The same pipeline compiled in the background (createComputePipelineAsync),
 * once per device: the constants and the limits are checked at once (an error
 * is thrown here), and the promise resolves when the pipeline is made. Its
 * bind group layout is the one `computePipeline` gives entry points with the
 * same bindings.
 *
 * Background compiles (with their shader modules) start after the current
 * task (so the pipelines a step being compiled needs at once are made first)
 * and run one at a time, in the
 * order asked: a CPU adapter compiles one pipeline at a time anyway
 * (SwiftShader was seen to hold every other pipeline creation while one
 * compiles), so a pipeline asked for later waits for one compile at most.
 */
export function computePipelineAsync(
  device: GPUDevice,
  shader: string,
  entry: string,
  constants: Readonly<Record<string, number>> = {},
): Promise<CachedPipeline> {
  const c = cacheFor(device);
  const made = c.pipelines.get(pipelineKey(shader, entry, constants));
  if (made) return Promise.resolve(made);
  const { key, info, layout, descriptor } = prepare(device, shader, entry, constants);
  const pending = c.pending.get(key);
  if (pending) return pending.promise;
  const request = { entry: info, constants: { ...constants } };
  const compile = async (): Promise<CachedPipeline> => {
    try {
      const pipeline = await gpuWait(() => device.createComputePipelineAsync(descriptor()));
      const p: CachedPipeline = { pipeline, layout: layout.group, ...request };
      c.pipelines.set(key, p);
      return p;
    } catch (e) {
      throw new Error(`${shader}.wgsl ${entry}: the pipeline compiled in the background failed: ${(e as Error).message}`);
    } finally {
      c.pending.delete(key);
    }
  };
  // After the current task, then after the compile asked for before this one.
  const previous = c.queue;
  const promise = new Promise<void>((r) => setTimeout(r, 0)).then(() => previous).then(compile);
  c.queue = promise.then(() => undefined, () => undefined);
  promise.catch(() => {}); // the callers that wait for it see the error; nobody else must have to
  c.pending.set(key, { request, promise });
  return promise;
}
