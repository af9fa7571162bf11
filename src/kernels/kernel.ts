/**
 * Helpers the standalone kernels share: dispatch geometry (with workgroup
 * sizes read from the shaders) and the checks of sizes and buffers they run
 * before making a call. The call itself
 * (KernelCall, makeCall, encodeCalls) is src/gpu/dispatch.ts.
 */
import { asBinding, bindingSize, type BufferArg } from '../gpu/dispatch.ts';
import { entryInfo } from '../shaders/library.ts';

export { checkSizes } from './sizes.ts';

/** True when n elements of every binding can be read as n / 4 vec4: n a multiple of 4 and 16-byte aligned offsets (the *_vec4.wgsl kernels). */
export function vec4Ok(n: number, args: readonly BufferArg[]): boolean {
  return n % 4 === 0 && args.every((a) => 'mapState' in a || (a.offset ?? 0) % 16 === 0);
}

/**
 * The `@workgroup_size` of an entry point whose size is a number in its WGSL,
 * read from the shader's reflection: TypeScript never repeats it. Entry points
 * sized by an override constant are sized by their caller, which passes the
 * constant (see workgroupSizeWith).
 */
export function fixedWorkgroupSize(shader: string, entry: string): readonly [number, number, number] {
  const e = entryInfo(shader, entry);
  const by = e.workgroupOverrides.filter((o) => o !== null);
  if (!e.workgroupSize || by.length > 0) {
    throw new Error(`${shader}.wgsl ${entry}: expected a workgroup size fixed in the WGSL${by.length ? `; it is set by the override ${by.join(', ')}, which the caller passes` : ''}`);
  }
  return e.workgroupSize;
}

/** Invocations per workgroup of an entry point with a fixed workgroup size (fixedWorkgroupSize). */
export function invocationsPerGroup(shader: string, entry: string): number {
  const [x, y, z] = fixedWorkgroupSize(shader, entry);
  return x * y * z;
}

/**
 * Workgroup counts covering `n` items with `perGroup` items each, as a 2-D grid
 * when one dimension would exceed the device limit. Shaders recover the linear
 * workgroup index as `wg.x + wg.y * num_workgroups.x`.
 */
export function grid1d(device: GPUDevice, n: number, perGroup: number): [number, number, number] {
  const groups = Math.ceil(n / perGroup);
  const max = device.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= max) return [groups, 1, 1];
  const y = Math.ceil(groups / max);
  if (y > max) throw new Error(`${n} items need ${groups} workgroups, beyond ${max}x${max}`);
  return [Math.ceil(groups / y), y, 1];
}

/** Throws unless a buffer (or binding range) holds at least `count` f32/u32 elements. */
export function checkBuffer(op: string, name: string, arg: BufferArg | undefined, count: number): void {
  if (!arg) throw new Error(`${op}: buffer '${name}' is required`);
  const b = asBinding(arg);
  const size = bindingSize(b);
  if (size < count * 4) {
    throw new Error(`${op}: buffer '${name}' holds ${size} bytes; expected at least ${count * 4} (${count} elements)`);
  }
}
