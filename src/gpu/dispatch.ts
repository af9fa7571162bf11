/**
 * The common shape of every dispatch: a `KernelCall` binds one entry point's
 * pipeline to the caller's buffers and its own small uniform buffer, once; it
 * is then recorded into any number of command encoders. Bindings are matched
 * by their WGSL names, and uniform fields by the reflected struct layout: no
 * index or offset is written by hand.
 */
import { createBuffer, destroyBuffer, UNIFORM } from './buffers.ts';
import { computePipeline, computePipelineAsync, readyPipeline } from './pipelines.ts';
import { entryInfo, packUniform, type EntryInfo } from '../shaders/library.ts';

/** A whole buffer, or a byte range of one. */
export type BufferArg = GPUBuffer | { readonly buffer: GPUBuffer; readonly offset?: number; readonly size?: number };

/**
 * One dispatch of one entry point, bound to the caller's buffers: record it
 * with encodeCalls (or set the pipeline and bind group 0 yourself and
 * dispatch `workgroups`).
 */
export interface KernelCall {
  /** Names the kernel and its sizes; used in errors and as the GPU objects' label. */
  readonly label: string;
  /** The compute pipeline, shared by every call of the same entry point and constants on the device. */
  readonly pipeline: GPUComputePipeline;
  /** Bind group 0: the caller's buffers and the call's uniform buffer. */
  readonly bindGroup: GPUBindGroup;
  /** Workgroup counts of the dispatch (x, y, z). */
  readonly workgroups: readonly [number, number, number];
  /**
   * Settles when the call dispatches its own pipeline: at once, or, for a
   * call made with a stand-in, when its pipeline has compiled in the
   * background (rejected if that failed; the stand-in then stays). Timing
   * waits for it; results do not depend on it.
   */
  readonly ready: Promise<void>;
  /** Reflection of the entry point: shader, bindings, uniform layout, workgroup size. */
  readonly entry: EntryInfo;
  /** Current uniform values. */
  readonly params: Readonly<Record<string, number>>;
  /**
   * Changes uniform fields (through `queue.writeBuffer`): the new values are
   * seen by every submit made after this call.
   */
  setParams(values: Readonly<Record<string, number>>): void;
  /** Bytes of the buffers the call owns besides its uniform (CallSpec.owned); absent: none. */
  readonly ownedBytes?: number;
  /** Releases the call's uniform buffer and the buffers it owns. The caller's buffers are untouched. */
  destroy(): void;
}

export interface CallSpec {
  readonly shader: string;
  readonly entry: string;
  readonly constants?: Readonly<Record<string, number>>;
  /** Buffers by WGSL variable name; the uniform struct is made by the call. */
  readonly buffers: Readonly<Record<string, BufferArg>>;
  /** Uniform fields by name (every field of the struct must be given). */
  readonly params?: Readonly<Record<string, number>>;
  readonly workgroups: readonly [number, number, number];
  readonly label?: string;
  /**
   * A kernel with the same bindings and bit-identical results that compiles
   * quickly: when the entry point's pipeline is not made yet, the call
   * dispatches this one (with its own workgroup counts) while that pipeline
   * compiles in the background, then switches to it.
   */
  readonly standIn?: StandIn;
  /** Buffers made for this call alone (a kernel's scratch), released with it. */
  readonly owned?: readonly GPUBuffer[];
}

export interface StandIn {
  readonly shader: string;
  readonly entry: string;
  readonly constants?: Readonly<Record<string, number>>;
  readonly workgroups: readonly [number, number, number];
}

export function asBinding(arg: BufferArg): GPUBufferBinding {
  if ('mapState' in arg) return { buffer: arg };
  return { buffer: arg.buffer, offset: arg.offset ?? 0, ...(arg.size !== undefined ? { size: arg.size } : {}) };
}

const dummies = new WeakMap<GPUDevice, GPUBuffer>();

/**
 * A 16-byte storage buffer bound where an entry point declares an optional
 * input the caller did not give (for example a matmul without bias); the
 * shader never reads it because a uniform flag says so. One per device.
 */
export function placeholderBuffer(device: GPUDevice): GPUBuffer {
  let b = dummies.get(device);
  if (!b) {
    b = createBuffer(device, 16, 0x0080 /* STORAGE */, 'placeholder');
    dummies.set(device, b);
  }
  return b;
}

export function bindingSize(b: GPUBufferBinding): number {
  return b.size ?? b.buffer.size - (b.offset ?? 0);
}

const withoutStandIns = new WeakSet<GPUDevice>();

/**
 * Turns stand-ins off (or back on) for the calls made on `device` from now
 * on: each call's pipeline is then made before the call, as without them
 * (the benchmark times both ways).
 */
export function setStandIns(device: GPUDevice, on: boolean): void {
  if (on) withoutStandIns.delete(device);
  else withoutStandIns.add(device);
}

type Dispatch = { readonly pipeline: GPUComputePipeline; readonly workgroups: readonly [number, number, number] };

/**
 * The pipeline a call dispatches now, its bind group layout, its reflection,
 * and when it dispatches its own: at once, or, with a stand-in while the
 * entry point's pipeline is not made, the stand-in until that compiles.
 */
function dispatchOf(device: GPUDevice, spec: CallSpec, label: string, switchTo: (d: Dispatch) => void): { now: Dispatch; layout: GPUBindGroupLayout; entry: EntryInfo; ready: Promise<void> } {
  const own = (workgroups: readonly [number, number, number]) => checkWorkgroups(device, label, workgroups);
  const si = spec.standIn;
  if (!si || withoutStandIns.has(device) || readyPipeline(device, spec.shader, spec.entry, spec.constants)) {
    const { pipeline, layout, entry } = computePipeline(device, spec.shader, spec.entry, spec.constants);
    return { now: { pipeline, workgroups: own(spec.workgroups) }, layout, entry, ready: Promise.resolve() };
  }
  const later = computePipelineAsync(device, spec.shader, spec.entry, spec.constants);
  const stand = computePipeline(device, si.shader, si.entry, si.constants);
  const main = entryInfo(spec.shader, spec.entry);
  const sig = (e: EntryInfo) => e.bindings.map((b) => `${b.binding}:${b.kind}:${b.name}`).join(',') + `|${e.uniform ? JSON.stringify(e.uniform) : ''}`;
  if (sig(stand.entry) !== sig(main)) throw new Error(`${label}: stand-in ${si.shader}.${si.entry} binds differently from ${spec.shader}.${spec.entry}`);
  const workgroups = own(spec.workgroups);
  const ready = later.then((p) => switchTo({ pipeline: p.pipeline, workgroups }));
  ready.catch(() => {});
  return { now: { pipeline: stand.pipeline, workgroups: own(si.workgroups) }, layout: stand.layout, entry: main, ready };
}

function checkWorkgroups(device: GPUDevice, label: string, workgroups: readonly [number, number, number]): [number, number, number] {
  const maxWg = device.limits.maxComputeWorkgroupsPerDimension;
  for (const w of workgroups) {
    if (!Number.isInteger(w) || w < 0 || w > maxWg) {
      throw new Error(`${label}: dispatch of ${workgroups.join('x')} workgroups exceeds maxComputeWorkgroupsPerDimension (${maxWg})`);
    }
  }
  return [workgroups[0], workgroups[1], workgroups[2]];
}

/** Makes a kernel call: pipeline (cached, or a stand-in while it compiles), uniform buffer and bind group, validated. */
export function makeCall(device: GPUDevice, spec: CallSpec): KernelCall {
  const label = spec.label ?? `${spec.shader}.${spec.entry}`;
  const made = dispatchOf(device, spec, label, (d) => (current = d));
  let current: Dispatch = made.now;
  const { layout, entry, ready } = made;
  const names = new Set(entry.bindings.filter((b) => b.kind !== 'uniform').map((b) => b.name));
  for (const k of Object.keys(spec.buffers)) {
    if (!names.has(k)) throw new Error(`${label}: '${k}' is not a buffer of this entry point (it binds: ${[...names].join(', ')})`);
  }
  let uniformBuf: GPUBuffer | null = null;
  let params: Record<string, number> = { ...(spec.params ?? {}) };
  const entries: GPUBindGroupEntry[] = [];
  const maxStorage = device.limits.maxStorageBufferBindingSize;
  for (const b of entry.bindings) {
    if (b.kind === 'uniform') {
      uniformBuf = createBuffer(device, entry.uniform!.size, UNIFORM, `${label}.params`);
      device.queue.writeBuffer(uniformBuf, 0, packUniform(entry.uniform!, params, label));
      entries.push({ binding: b.binding, resource: { buffer: uniformBuf } });
      continue;
    }
    const arg = spec.buffers[b.name];
    if (!arg) throw new Error(`${label}: buffer '${b.name}' is missing (it binds: ${[...names].join(', ')})`);
    const binding = asBinding(arg);
    const size = bindingSize(binding);
    if (size > maxStorage) {
      throw new Error(`${label}: buffer '${b.name}' binds ${size} bytes, above the device's maxStorageBufferBindingSize (${maxStorage}); split the work into smaller batches`);
    }
    entries.push({ binding: b.binding, resource: binding });
  }
  const bindGroup = device.createBindGroup({ layout, entries, label });
  const ub = uniformBuf;
  return {
    label,
    get pipeline() {
      return current.pipeline;
    },
    bindGroup,
    get workgroups() {
      return current.workgroups;
    },
    entry,
    ready,
    ownedBytes: (spec.owned ?? []).reduce((a, b) => a + b.size, 0),
    get params() {
      return params;
    },
    setParams(values) {
      if (!ub || !entry.uniform) throw new Error(`${label}: this entry point has no uniform parameters`);
      params = { ...params, ...values };
      device.queue.writeBuffer(ub, 0, packUniform(entry.uniform, params, label));
    },
    destroy() {
      if (ub) destroyBuffer(device, ub);
      for (const b of spec.owned ?? []) destroyBuffer(device, b);
    },
  };
}

/** Settles when every call dispatches its own pipeline (see KernelCall.ready). */
export async function callsReady(calls: readonly KernelCall[]): Promise<void> {
  await Promise.all(calls.map((c) => c.ready));
}

/** Records calls into one compute pass of `encoder`, in order. */
export function encodeCalls(encoder: GPUCommandEncoder, calls: readonly KernelCall[], label = 'webgpu-vae'): void {
  const pass = encoder.beginComputePass({ label });
  for (const c of calls) {
    if (c.workgroups[0] === 0 || c.workgroups[1] === 0 || c.workgroups[2] === 0) continue;
    pass.setPipeline(c.pipeline);
    pass.setBindGroup(0, c.bindGroup);
    pass.dispatchWorkgroups(c.workgroups[0], c.workgroups[1], c.workgroups[2]);
  }
  pass.end();
}

/** Records calls into a new encoder and submits it. */
export function submitCalls(device: GPUDevice, calls: readonly KernelCall[], label = 'webgpu-vae'): void {
  const enc = device.createCommandEncoder({ label });
  encodeCalls(enc, calls, label);
  device.queue.submit([enc.finish()]);
}

