/**
 * Reflection of WGSL with wgsl_reflect: every compute entry point's bindings,
 * uniform layout, workgroup size and its overrides, and the module's
 * workgroup memory. Run by `npm run shaders` (scripts/embed-reflection.ts),
 * which embeds the result in src/shaders/reflection.ts for the runtime, and
 * by the tests that check the embedded copy.
 */
import { ArrayType, Var, WgslParser, WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';
import { shaderSource, type BindingInfo, type BindingKind, type EntryInfo, type ScalarType, type UniformLayout } from './library.ts';

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

/** Reflection of every compute entry point of a shader (with its requirements), read from the WGSL with wgsl_reflect. */
export function reflectShader(name: string): EntryInfo[] {
  return [...reflectEntries(name, shaderSource(name)).values()];
}

export function reflectEntries(name: string, source: string): Map<string, EntryInfo> {
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

