/**
 * Shader modules, bind group layouts and compute pipelines, made once per
 * device and cached by (shader, entry point, override constants).
 */
import { entryInfo, pipelineLimitExcess, shaderInfo, type EntryInfo } from '../shaders/library.ts';

export interface CachedPipeline {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly entry: EntryInfo;
  /** The override constants it was made with. */
  readonly constants: Readonly<Record<string, number>>;
}

interface DeviceCache {
  modules: Map<string, GPUShaderModule>;
  pipelines: Map<string, CachedPipeline>;
}

const caches = new WeakMap<GPUDevice, DeviceCache>();

function cacheFor(device: GPUDevice): DeviceCache {
  let c = caches.get(device);
  if (!c) {
    c = { modules: new Map(), pipelines: new Map() };
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

/** Every pipeline made so far on a device, with its entry point and override constants. */
export function pipelinesOf(device: GPUDevice): CachedPipeline[] {
  return [...cacheFor(device).pipelines.values()];
}

/** The compute pipeline for one entry point and set of override constants, made once per device. */
export function computePipeline(
  device: GPUDevice,
  shader: string,
  entry: string,
  constants: Readonly<Record<string, number>> = {},
): CachedPipeline {
  const keys = Object.keys(constants).sort();
  const key = `${shader}:${entry}:${keys.map((k) => `${k}=${constants[k]}`).join(',')}`;
  const c = cacheFor(device);
  let p = c.pipelines.get(key);
  if (p) return p;
  const info = entryInfo(shader, entry);
  for (const k of keys) {
    if (!info.overrides.includes(k)) {
      throw new Error(`${shader}.wgsl ${entry}: '${k}' is not an override constant of this entry point (it has: ${info.overrides.join(', ') || 'none'})`);
    }
  }
  // The device's limits (the adapter's, as requestGpu asks for them) are checked here, with a
  // clear message, rather than left to a validation error at the first dispatch.
  const excess = pipelineLimitExcess(info, constants, device.limits);
  if (excess.length) throw new Error(`${shader}.wgsl ${entry}: exceeds the device's limits: ${excess.join('; ')}`);
  const layout = device.createBindGroupLayout({
    label: `${shader}.${entry}`,
    entries: info.bindings.map((b) => ({
      binding: b.binding,
      visibility: 0x4, // GPUShaderStage.COMPUTE
      buffer: { type: b.kind },
    })),
  });
  const pipeline = device.createComputePipeline({
    label: `${shader}.${entry}`,
    layout: device.createPipelineLayout({ bindGroupLayouts: [layout], label: `${shader}.${entry}` }),
    compute: { module: shaderModule(device, shader), entryPoint: entry, constants: { ...constants } },
  });
  p = { pipeline, layout, entry: info, constants: { ...constants } };
  c.pipelines.set(key, p);
  return p;
}
