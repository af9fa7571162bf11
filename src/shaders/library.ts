/**
 * The shader library: WGSL sources by name, their `// requires:` dependencies,
 * and reflection of every entry point (bindings, uniform layout, workgroup
 * size) read with wgsl_reflect, so no binding index or uniform offset is ever
 * written by hand on the TypeScript side. The reflection is read once, by
 * `npm run shaders`, into src/shaders/reflection.ts (parsing the WGSL took
 * about half the time of compiling a training step on a CPU adapter), so
 * wgsl_reflect runs at build time (src/shaders/reflect.ts) and apps do not
 * ship it. A shader whose source no longer matches its embedded reflection
 * is refused with the command that brings them back in step.
 */
import { REFLECTION } from './reflection.ts';
import { WGSL_SOURCES } from './sources.ts';

/** How a binding is declared in WGSL, as a bind group layout needs it. */
export type BindingKind = 'read-only-storage' | 'storage' | 'uniform';

export interface BindingInfo {
  readonly name: string;
  readonly group: number;
  readonly binding: number;
  readonly kind: BindingKind;
  /** The WGSL type of the variable, e.g. `array<f32>`, `array<vec4<f32>>` or the uniform struct's name. */
  readonly type: string;
}

export type ScalarType = 'u32' | 'i32' | 'f32';

export interface UniformField {
  readonly name: string;
  readonly offset: number;
  readonly type: ScalarType;
}

/** Byte layout of a uniform struct, as reflected from WGSL. */
export interface UniformLayout {
  /** The binding's variable name (by convention `params`). */
  readonly name: string;
  /** Size in bytes, rounded up to 16. */
  readonly size: number;
  readonly fields: readonly UniformField[];
}

export interface EntryInfo {
  readonly shader: string;
  readonly name: string;
  /** Workgroup size, at the override constants' defaults where an override sets it (see workgroupSizeWith). */
  readonly workgroupSize: readonly [number, number, number] | null;
  /** Per dimension of `@workgroup_size`: the override constant that sets it, or null for a fixed number. */
  readonly workgroupOverrides: readonly [string | null, string | null, string | null];
  /** Bytes of the module's `var<workgroup>` variables: an upper bound on what any of its entry points uses. */
  readonly workgroupBytes: number;
  /** Resources the entry point uses, in binding order. */
  readonly bindings: readonly BindingInfo[];
  readonly uniform: UniformLayout | null;
  readonly overrides: readonly string[];
}

export interface ShaderInfo {
  readonly name: string;
  readonly source: string;
  readonly entries: ReadonlyMap<string, EntryInfo>;
}

/** Names of every shader file in `shaders/` (without `.wgsl`). */
export function shaderNames(): string[] {
  return Object.keys(WGSL_SOURCES).sort();
}

function rawSource(name: string): string {
  const src = WGSL_SOURCES[name];
  if (src === undefined) {
    throw new Error(`unknown shader '${name}': expected one of ${shaderNames().join(', ')}`);
  }
  return src;
}

/** Files named on `// requires: a.wgsl, b.wgsl` header lines. */
export function shaderRequires(name: string): string[] {
  const out: string[] = [];
  for (const m of rawSource(name).matchAll(/^\/\/\s*requires:\s*(.+)$/gm)) {
    for (const f of m[1]!.split(',')) out.push(f.trim().replace(/\.wgsl$/, ''));
  }
  return out;
}

/**
 * Full module source: required files first (each once), then the shader
 * itself, as embedded (code alone, without comments or indentation; `webgpu-vae/shaders/<file>`
 * has each file with its comments).
 */
export function shaderSource(name: string): string {
  const order: string[] = [];
  const visit = (n: string, stack: string[]) => {
    if (stack.includes(n)) throw new Error(`shader require cycle: ${[...stack, n].join(' -> ')}`);
    if (order.includes(n)) return;
    for (const dep of shaderRequires(n)) visit(dep, [...stack, n]);
    order.push(n);
  };
  visit(name, []);
  return order.map((n) => `// ---- ${n}.wgsl ----\n${rawSource(n)}`).join('\n');
}

/**
 * The workgroup size of an entry point with the given override constants
 * (those not given keep their defaults), as the pipeline made with them runs it.
 */
export function workgroupSizeWith(entry: EntryInfo, constants: Readonly<Record<string, number>> = {}): [number, number, number] {
  if (!entry.workgroupSize) throw new Error(`${entry.shader}.wgsl ${entry.name}: no workgroup size could be reflected`);
  const ws = entry.workgroupSize;
  const at = (i: 0 | 1 | 2) => {
    const o = entry.workgroupOverrides[i];
    const v = o !== null && constants[o] !== undefined ? constants[o]! : ws[i];
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${entry.shader}.wgsl ${entry.name}: workgroup size ${o} = ${v}; expected a positive integer`);
    return v;
  };
  return [at(0), at(1), at(2)];
}

/** FNV-1a over the UTF-16 code units, as 8 hex digits: which source an embedded reflection was read from. */
export function sourceHash(source: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < source.length; i++) h = Math.imul(h ^ source.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

const cache = new Map<string, ShaderInfo>();

/** Reflection of one shader file (with its requirements), as embedded by `npm run shaders`; cached. */
export function shaderInfo(name: string): ShaderInfo {
  let info = cache.get(name);
  if (!info) {
    const source = shaderSource(name);
    const embedded = REFLECTION[name];
    if (embedded?.hash !== sourceHash(source)) throw new Error(`shader '${name}': its source changed since its reflection was embedded; run \`npm run shaders\``);
    const entries = new Map(embedded.entries.map((e) => [e.name, e]));
    info = { name, source, entries };
    cache.set(name, info);
  }
  return info;
}

/** Reflection of one entry point, with a clear error when it does not exist. */
export function entryInfo(shader: string, entry: string): EntryInfo {
  const info = shaderInfo(shader);
  const e = info.entries.get(entry);
  if (!e) {
    throw new Error(`shader '${shader}' has no compute entry point '${entry}': it has ${[...info.entries.keys()].join(', ')}`);
  }
  return e;
}

/** Packs named values into a uniform buffer's bytes, by the reflected layout. */
export function packUniform(layout: UniformLayout, values: Readonly<Record<string, number>>, where: string): ArrayBuffer {
  const buf = new ArrayBuffer(layout.size);
  const view = new DataView(buf);
  for (const f of layout.fields) {
    const v = values[f.name];
    if (v === undefined || Number.isNaN(v) && f.type !== 'f32') {
      throw new Error(`${where}: uniform field '${f.name}' (${f.type}) has no value; given: ${Object.keys(values).join(', ') || 'none'}`);
    }
    switch (f.type) {
      case 'u32':
        if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`${where}: ${f.name} = ${v} is not a u32`);
        view.setUint32(f.offset, v, true);
        break;
      case 'i32':
        if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new Error(`${where}: ${f.name} = ${v} is not an i32`);
        view.setInt32(f.offset, v, true);
        break;
      case 'f32':
        view.setFloat32(f.offset, v, true);
        break;
    }
  }
  for (const k of Object.keys(values)) {
    if (!layout.fields.some((f) => f.name === k)) {
      throw new Error(`${where}: '${k}' is not a field of the uniform struct (fields: ${layout.fields.map((f) => f.name).join(', ')})`);
    }
  }
  return buf;
}

/** WebGPU's default limits on what one compute pipeline may use: every adapter supports at least these. */
export const DEFAULT_PIPELINE_LIMITS = {
  maxStorageBuffersPerShaderStage: 8,
  maxUniformBuffersPerShaderStage: 12,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupSizeY: 256,
  maxComputeWorkgroupSizeZ: 64,
  maxComputeWorkgroupStorageSize: 16384,
} as const;

export type PipelineLimits = { readonly [K in keyof typeof DEFAULT_PIPELINE_LIMITS]: number };

/** What one pipeline of an entry point (with these override constants) uses of the limits above. */
export interface PipelineUse {
  readonly storageBuffers: number;
  readonly uniformBuffers: number;
  readonly workgroupSize: readonly [number, number, number];
  readonly invocations: number;
  readonly workgroupBytes: number;
}

/** The resources a pipeline of `entry` made with `constants` uses: buffers, workgroup size and memory. */
export function pipelineUse(entry: EntryInfo, constants: Readonly<Record<string, number>> = {}): PipelineUse {
  const workgroupSize = workgroupSizeWith(entry, constants);
  return {
    storageBuffers: entry.bindings.filter((b) => b.kind !== 'uniform').length,
    uniformBuffers: entry.bindings.filter((b) => b.kind === 'uniform').length,
    workgroupSize,
    invocations: workgroupSize[0] * workgroupSize[1] * workgroupSize[2],
    workgroupBytes: entry.workgroupBytes,
  };
}

/**
 * Every limit a pipeline of `entry` with `constants` would exceed, as
 * sentences naming the limit, the use and the allowed value (empty when it fits).
 */
export function pipelineLimitExcess(entry: EntryInfo, constants: Readonly<Record<string, number>>, limits: PipelineLimits): string[] {
  const u = pipelineUse(entry, constants);
  const out: string[] = [];
  const check = (limit: keyof PipelineLimits, used: number, what: string) => {
    if (used > limits[limit]) out.push(`${what} ${used} > ${limit} ${limits[limit]}`);
  };
  check('maxStorageBuffersPerShaderStage', u.storageBuffers, 'storage buffers');
  check('maxUniformBuffersPerShaderStage', u.uniformBuffers, 'uniform buffers');
  check('maxComputeInvocationsPerWorkgroup', u.invocations, `invocations per workgroup (${u.workgroupSize.join('×')})`);
  check('maxComputeWorkgroupSizeX', u.workgroupSize[0], 'workgroup size x');
  check('maxComputeWorkgroupSizeY', u.workgroupSize[1], 'workgroup size y');
  check('maxComputeWorkgroupSizeZ', u.workgroupSize[2], 'workgroup size z');
  check('maxComputeWorkgroupStorageSize', u.workgroupBytes, 'workgroup memory bytes');
  return out;
}
