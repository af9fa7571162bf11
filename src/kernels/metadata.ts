/**
 * Reflection metadata of every WGSL file, for tools and for people who bind
 * the raw shaders (`webgpu-vae/shaders/*.wgsl`) themselves: each file's
 * requirements and override constants, and per compute entry point the
 * workgroup size, every binding (group, index, name, WGSL type, access) and
 * the uniform struct's fields with their byte offsets. Everything is read from
 * the WGSL with wgsl_reflect, the same way the kernels bind their buffers.
 */
import { shaderInfo, shaderNames, shaderRequires, shaderSource, type ScalarType } from '../shaders/library.ts';

export { shaderNames, shaderSource };

/** One resource of an entry point. */
export interface BindingMetadata {
  readonly group: number;
  readonly binding: number;
  /** The WGSL variable name, which the kernels match buffers by. */
  readonly name: string;
  /** The WGSL type, e.g. `array<f32>`, `array<vec4<f32>>`, or the uniform struct's name. */
  readonly type: string;
  /** `read` and `read_write` storage buffers, or the `uniform` struct. */
  readonly access: 'read' | 'read_write' | 'uniform';
  /** The bind group layout entry's buffer type. */
  readonly layoutType: 'read-only-storage' | 'storage' | 'uniform';
}

export interface UniformFieldMetadata {
  readonly name: string;
  /** Byte offset in the uniform buffer. */
  readonly offset: number;
  readonly type: ScalarType;
}

export interface EntryPointMetadata {
  readonly name: string;
  /** Fixed workgroup size, or null when an override constant sets it. */
  readonly workgroupSize: readonly [number, number, number] | null;
  /** Resources the entry point uses, in (group, binding) order. */
  readonly bindings: readonly BindingMetadata[];
  /** The uniform struct: its variable, size in bytes (a multiple of 16) and fields; null when there is none. */
  readonly uniform: { readonly name: string; readonly size: number; readonly fields: readonly UniformFieldMetadata[] } | null;
}

export interface ShaderMetadata {
  /** File name without `.wgsl`. */
  readonly name: string;
  /** `webgpu-vae/shaders/<file>` gives the raw source. */
  readonly file: string;
  /** Files named on `// requires:` lines: the module is their sources, in order, then this file (`shaderSource` joins them). */
  readonly requires: readonly string[];
  /** Override constants of the module (pipeline `constants`). */
  readonly overrides: readonly string[];
  /** Compute entry points (none for files of shared functions). */
  readonly entryPoints: readonly EntryPointMetadata[];
}

/** Metadata of one WGSL file by name (without `.wgsl`). */
export function shaderMetadata(name: string): ShaderMetadata {
  const info = shaderInfo(name);
  const entryPoints = [...info.entries.values()].map((e): EntryPointMetadata => ({
    name: e.name,
    workgroupSize: e.workgroupSize,
    bindings: e.bindings.map((b) => ({
      group: b.group,
      binding: b.binding,
      name: b.name,
      type: b.type,
      access: b.kind === 'uniform' ? 'uniform' : b.kind === 'storage' ? 'read_write' : 'read',
      layoutType: b.kind,
    })),
    uniform: e.uniform && { name: e.uniform.name, size: e.uniform.size, fields: e.uniform.fields.map((f) => ({ ...f })) },
  }));
  const overrides = entryPoints.length ? [...(info.entries.values().next().value?.overrides ?? [])] : [];
  return { name, file: `${name}.wgsl`, requires: shaderRequires(name), overrides, entryPoints };
}

/** Metadata of every WGSL file, sorted by name. */
export function kernelMetadata(): ShaderMetadata[] {
  return shaderNames().map(shaderMetadata);
}
