/**
 * The shader library: WGSL sources by name, their `// requires:` dependencies,
 * and reflection of every entry point (bindings, uniform layout, workgroup
 * size) read with wgsl_reflect, so no binding index or uniform offset is ever
 * written by hand on the TypeScript side. The reflection is read once, by
 * `npm run shaders`, into src/shaders/reflection.ts (parsing the WGSL took
 * about half the time of compiling a training step on a CPU adapter); a
 * shader whose source no longer matches its embedded reflection is reflected
 * when first used.
 */
import { ArrayType, Var, WgslParser, WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';
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

/** Full module source: required files first (each once), then the shader itself. */
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

interface ReflectedType {
  readonly name: string;
  readonly format?: ReflectedType | null;
}

/** A reflected type written as WGSL: `array<f32>`, `array<vec4<f32>>`, `Params`. */
function typeName(t: ReflectedType): string {
  return t.format ? `${t.name}<${typeName(t.format)}>` : t.name;
}

const SCALARS: ReadonlySet<string> = new Set(['u32', 'i32', 'f32']);

/** Bytes of one element of a workgroup array (host-shareable layout: vec3 takes 16). */
const ELEMENT_BYTES: Readonly<Record<string, number>> = {
  f32: 4, u32: 4, i32: 4, f16: 2,
  vec2f: 8, vec2u: 8, vec2i: 8, vec3f: 16, vec3u: 16, vec3i: 16, vec4f: 16, vec4u: 16, vec4i: 16,
};

function elementBytes(t: { name: string; format?: { name: string } | null } | null): number | undefined {
  if (!t) return undefined;
  const n = t.format && /^vec[234]$/.test(t.name) ? `${t.name}${t.format.name[0]}` : t.name;
  return ELEMENT_BYTES[n];
}

/** Sum of the sizes of the module's `var<workgroup>` arrays and scalars. */
function workgroupBytesOf(name: string, source: string): number {
  let total = 0;
  for (const node of new WgslParser().parse(source)) {
    if (!(node instanceof Var) || node.storage !== 'workgroup') continue;
    const t = node.type;
    const bytes = t instanceof ArrayType ? (typeof t.count === 'number' && t.count > 0 ? t.count : NaN) * (elementBytes(t.format as never) ?? NaN) : elementBytes(t as never);
    if (bytes === undefined || !Number.isFinite(bytes)) {
      throw new Error(`${name}.wgsl: workgroup variable '${node.name}' needs a fixed-size array of scalars or vectors to be counted against maxComputeWorkgroupStorageSize`);
    }
    total += bytes;
  }
  return total;
}

/** `@workgroup_size` arguments that name an override constant (null for numbers). */
function workgroupOverridesOf(shader: string, fn: string, attrs: readonly { name: string; value: unknown }[] | null, overrides: readonly string[]): [string | null, string | null, string | null] {
  const args = attrs?.find((a) => a.name === 'workgroup_size')?.value;
  const list = (Array.isArray(args) ? args : [args]).map(String);
  const out: [string | null, string | null, string | null] = [null, null, null];
  list.forEach((a, i) => {
    if (i > 2) return;
    if (/^\d+u?$/.test(a)) return;
    if (!overrides.includes(a)) throw new Error(`${shader}.wgsl: ${fn}'s @workgroup_size argument '${a}' is neither a number nor an override constant`);
    out[i] = a;
  });
  return out;
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

/** Reflection of every compute entry point of a shader (with its requirements), read from the WGSL with wgsl_reflect. */
export function reflectShader(name: string): EntryInfo[] {
  return [...reflectEntries(name, shaderSource(name)).values()];
}

function reflectEntries(name: string, source: string): Map<string, EntryInfo> {
  const reflect = new WgslReflect(source);
  const workgroupBytes = workgroupBytesOf(name, source);
  // Overrides are listed per module: wgsl_reflect only lists, per entry point,
  // those it reads directly, not those read by the functions it calls.
  const moduleOverrides = reflect.overrides.map((o) => o.name);
  const entries = new Map<string, EntryInfo>();
  for (const fn of reflect.entry.compute) {
    const bindings: BindingInfo[] = [];
    let uniform: UniformLayout | null = null;
    for (const r of fn.resources) {
      let kind: BindingKind;
      if (r.resourceType === 0 /* Uniform */) kind = 'uniform';
      else if (r.resourceType === 1 /* Storage */) kind = r.access === 'read' ? 'read-only-storage' : 'storage';
      else throw new Error(`${name}.wgsl: ${fn.name} binds '${r.name}', which is neither a buffer nor a uniform`);
      bindings.push({ name: r.name, group: r.group, binding: r.binding, kind, type: typeName(r.type as unknown as ReflectedType) });
      if (kind === 'uniform') {
        if (uniform) throw new Error(`${name}.wgsl: ${fn.name} binds two uniforms; the convention is one struct 'params'`);
        const st = r.type as unknown as { members?: { name: string; offset: number; type: { name: string } }[]; size: number };
        if (!st.members) throw new Error(`${name}.wgsl: uniform '${r.name}' must be a struct`);
        const fields = st.members.map((m) => {
          if (!SCALARS.has(m.type.name)) {
            throw new Error(`${name}.wgsl: uniform field ${r.name}.${m.name} has type ${m.type.name}; expected u32, i32 or f32`);
          }
          return { name: m.name, offset: m.offset, type: m.type.name as ScalarType };
        });
        uniform = { name: r.name, size: Math.ceil(st.size / 16) * 16, fields };
      }
    }
    bindings.sort((a, b) => a.group - b.group || a.binding - b.binding);
    const ws = fn.workgroupSize;
    entries.set(fn.name, {
      shader: name,
      name: fn.name,
      workgroupSize: ws && ws.every((v) => Number.isInteger(v) && v > 0) ? [ws[0], ws[1], ws[2]] : null,
      workgroupOverrides: workgroupOverridesOf(name, fn.name, fn.attributes as never, moduleOverrides),
      workgroupBytes,
      bindings,
      uniform,
      overrides: moduleOverrides,
    });
  }
  return entries;
}

const cache = new Map<string, ShaderInfo>();

/** Reflection of one shader file (with its requirements): embedded, or read when first used; cached. */
export function shaderInfo(name: string): ShaderInfo {
  let info = cache.get(name);
  if (!info) {
    const source = shaderSource(name);
    const embedded = REFLECTION[name];
    const entries = embedded?.hash === sourceHash(source) ? new Map(embedded.entries.map((e) => [e.name, e])) : reflectEntries(name, source);
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
