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

function limitOf(limits: BufferLimits): { limit: number; limitName: string } {
  const bind = limits.maxStorageBufferBindingSize;
  const maxBuf = limits.maxBufferSize;
  return { limit: Math.min(bind, maxBuf), limitName: bind <= maxBuf ? `maxStorageBufferBindingSize (${bind} bytes, ${mib(bind)})` : `maxBufferSize (${maxBuf} bytes, ${mib(maxBuf)})` };
}

/** The largest buffer of `fg`'s plan (an input, a planned tensor, or a pooled buffer above maxBufferSize). */
function largestBuffer(limits: BufferLimits, fg: GraphBase): { name: string; bytes: number } {
  const g = fg.graph;
  const plan = planMemory(g);
  const candidates: { name: string; bytes: number }[] = [...fg.inputs].map(([name, t]) => ({ name: name === 'x' || name === 'z' ? 'input' : `input ${name}`, bytes: numel(g.shape(t)) * 4 }));
  for (const [t, bytes] of plan.sizes) candidates.push({ name: g.tensors[t]!.name, bytes });
  plan.slotBytes.forEach((bytes, i) => {
    if (bytes > limits.maxBufferSize) candidates.push({ name: `temporary buffer ${i}`, bytes });
  });
  return candidates.reduce((a, b) => (b.bytes > a.bytes ? b : a));
}

/**
 * Throws ModelTooLargeError when the parameter block (bound whole by the
 * optimizer), a planned temporary or the input of `fg` at its batch size
 * exceeds maxStorageBufferBindingSize or maxBufferSize.
 */
export function checkPlanFits(limits: BufferLimits, fg: GraphBase, what: string): void {
  const { limit, limitName } = limitOf(limits);
  const { total } = modelLayout(fg.spec);
  const paramBytes = total * 4;
  if (paramBytes > limit) {
    const fit = Math.floor(limit / 4);
    throw new ModelTooLargeError(
      `${what}: the model is too large for this GPU: its ${total} parameters need ${paramBytes} bytes (${mib(paramBytes)}) in one buffer, ` +
        `above the adapter's ${limitName}; at most about ${fit} parameters fit: use fewer hidden units or channels`,
    );
  }
  const B = fg.batch;
  const worst = largestBuffer(limits, fg);
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

/**
 * checkPlanFits for a graph that decodes K samples per input (B·K rows):
 * when it does not fit but one sample per input would, the error names the
 * largest K that fits at this batch (each K tried with `rebuild(k)`, the same
 * graph for another K), and the batch that fits with this K.
 */
export function checkSamplesFit(limits: BufferLimits, fg: GraphBase & { readonly samples: { readonly k: number } | null }, what: string, rebuild: (k: number) => GraphBase): void {
  try {
    checkPlanFits(limits, fg, what);
  } catch (e) {
    const K = fg.samples?.k ?? 1;
    if (!(e instanceof ModelTooLargeError) || K === 1) throw e;
    const fits = (k: number) => {
      try {
        checkPlanFits(limits, rebuild(k), what);
        return true;
      } catch (x) {
        if (x instanceof ModelTooLargeError) return false;
        throw x;
      }
    };
    if (!fits(1)) throw e;
    let lo = 1, hi = K; // K = lo fits, K = hi does not
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (fits(mid)) lo = mid;
      else hi = mid;
    }
    const { limitName, limit } = limitOf(limits);
    const worst = largestBuffer(limits, fg);
    const B = fg.batch;
    const batch = Math.floor(limit / (worst.bytes / B));
    throw new ModelTooLargeError(
      `${what}: ${K} samples per input do not fit this GPU at batch ${B}: the decoder runs on B·K = ${B * K} rows and '${worst.name}' needs ${worst.bytes} bytes (${mib(worst.bytes)}), ` +
        `above the adapter's ${limitName}; at most K = ${lo} fits at batch ${B}${batch >= 1 ? `, or K = ${K} at a batch of at most ${batch}` : ''}`,
    );
  }
}
