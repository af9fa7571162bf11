/**
 * Checks a compiled graph's planned buffers against the adapter's limits
 * before anything is allocated, so that a model too large for the GPU gets an
 * error that names the limit, the buffer, and what would fit (a smaller batch,
 * or fewer parameters), instead of a failure deep inside WebGPU.
 */
import { ModelSpecError } from './errors.ts';
import { modelLayout, type GraphBase } from './build.ts';
import { numel } from './ir.ts';
import { planMemory } from './plan.ts';

/** The two limits that bound a buffer: its size, and the size of one storage binding. */
export type BufferLimits = Pick<GPUSupportedLimits, 'maxBufferSize' | 'maxStorageBufferBindingSize'>;

export class ModelTooLargeError extends ModelSpecError {
  override readonly name: string = 'ModelTooLargeError';
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(b < 2 ** 20 ? 3 : 1)} MiB`;

/**
 * Throws ModelTooLargeError when the parameter block (bound whole by the
 * optimizer), a planned temporary or the input of `fg` at its batch size
 * exceeds maxStorageBufferBindingSize or maxBufferSize.
 */
export function checkPlanFits(limits: BufferLimits, fg: GraphBase, what: string): void {
  const bind = limits.maxStorageBufferBindingSize;
  const maxBuf = limits.maxBufferSize;
  const limit = Math.min(bind, maxBuf);
  const limitName = bind <= maxBuf ? `maxStorageBufferBindingSize (${bind} bytes, ${mib(bind)})` : `maxBufferSize (${maxBuf} bytes, ${mib(maxBuf)})`;
  const { total } = modelLayout(fg.spec);
  const paramBytes = total * 4;
  if (paramBytes > limit) {
    const fit = Math.floor(limit / 4);
    throw new ModelTooLargeError(
      `${what}: the model is too large for this GPU: its ${total} parameters need ${paramBytes} bytes (${mib(paramBytes)}) in one buffer, ` +
        `above the adapter's ${limitName}; at most about ${fit} parameters fit: use fewer hidden units or channels`,
    );
  }
  const g = fg.graph;
  const plan = planMemory(g);
  const B = fg.batch;
  const candidates: { name: string; bytes: number }[] = [...fg.inputs].map(([name, t]) => ({ name: name === 'x' || name === 'z' ? 'input' : `input ${name}`, bytes: numel(g.shape(t)) * 4 }));
  for (const [t, bytes] of plan.sizes) candidates.push({ name: g.tensors[t]!.name, bytes });
  plan.slotBytes.forEach((bytes, i) => {
    if (bytes > maxBuf) candidates.push({ name: `temporary buffer ${i}`, bytes });
  });
  const worst = candidates.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  if (worst.bytes <= limit) return;
  const perSample = worst.bytes / B;
  const batch = Math.floor(limit / perSample);
  const advice = batch >= 1
    ? `a batch of at most ${batch} fits (this one is ${B})`
    : `even one sample needs ${Math.ceil(perSample)} bytes: use smaller layers`;
  throw new ModelTooLargeError(
    `${what}: the model is too large for this GPU at batch ${B}: '${worst.name}' needs ${worst.bytes} bytes (${mib(worst.bytes)}), ` +
      `above the adapter's ${limitName}; ${advice}`,
  );
}
