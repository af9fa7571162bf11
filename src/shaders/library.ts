/**
 * The shader library: WGSL sources by name, their `// requires:` dependencies,
 * and reflection of every entry point (bindings, uniform layout, workgroup
 * size) read with wgsl_reflect, so no binding index or uniform offset is ever
 * written by hand on the TypeScript side.
 */
import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';
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
  /** Fixed workgroup size, or null when it depends on override constants. */
  readonly workgroupSize: readonly [number, number, number] | null;
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

function reflectEntries(name: string, source: string): Map<string, EntryInfo> {
  const reflect = new WgslReflect(source);
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
      bindings,
      uniform,
      overrides: moduleOverrides,
    });
  }
  return entries;
}

const cache = new Map<string, ShaderInfo>();

/** Reflection of one shader file (with its requirements), cached. */
export function shaderInfo(name: string): ShaderInfo {
  let info = cache.get(name);
  if (!info) {
    const source = shaderSource(name);
    info = { name, source, entries: reflectEntries(name, source) };
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
