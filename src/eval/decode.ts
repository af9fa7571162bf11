/**
 * Autoregressive decoding of a sequence model on the GPU: token ids (N, T)
 * from codes z (N, J), greedy or sampled at a temperature, one submit per
 * batch of rows and no readback until the batch's last token.
 *
 * A decoder that acts on each step on its own (dense, GRU, ...) runs one
 * step at a time: a first-step program (z → the initial states and the
 * first logits) and a next-step program (the previous token, z and the GRU
 * states → logits and new states), with the sampler writing the drawn token
 * as the next step's input and the states copied forward: T steps of work.
 * A decoder that mixes time steps (causal convolutions) is run over the
 * whole sequence once per position, the sampler filling in one more token of
 * its previous-token input each time: T passes of T steps.
 *
 * Token t of row n is drawn from the Philox stream (seed, t, stream) at
 * element n, so the result does not depend on the batch size. Float64
 * reference: decodeTokensRef (src/model/reference.ts).
 */
import { createBuffer, readRanges, STORAGE } from '../gpu/buffers.ts';
import type { KernelCall } from '../gpu/dispatch.ts';
import { encodeCalls } from '../gpu/dispatch.ts';
import { buildDecoder, buildDecoderStep, type DecoderStepGraph } from '../graph/build.ts';
import { ModelSpecError } from '../graph/errors.ts';
import { Program } from '../graph/program.ts';
import { sampleTokens } from '../kernels/tokens.ts';
import { SPECIAL_IDS } from '../data/tokens.ts';
import type { ModelSpec } from '../model/spec.ts';

export interface DecodeOptions {
  /** 0: greedy (the most likely token at each step); > 0: sampling from softmax(logits / temperature). */
  readonly temperature: number;
  readonly seed: number;
  /** Philox stream of the draws (default 5). */
  readonly stream?: number;
}

const NO_LOSS = { beta: 1, freeBits: 0, latentL2: 0, seed: 0 };

/** The name of a sequence model's previous-token input. */
export function previousTokenInput(spec: ModelSpec): string {
  const e = Object.entries(spec.extraInputs ?? {}).find(([, v]) => v.type === 'previous-tokens');
  if (!e || spec.input.length !== 2) throw new ModelSpecError(`decoding token by token needs a sequence model (input [T, V]) whose decoder reads the previous tokens; this model's input is [${spec.input.join(', ')}]${e ? '' : ' and it has no previous-tokens input'}`);
  if (spec.likelihood.type !== 'categorical' || spec.likelihood.classes !== spec.input[1]) throw new ModelSpecError(`decoding token by token needs a categorical likelihood over the ${spec.input[1]} tokens`);
  return e[0];
}

/** The programs and calls that decode one batch of B rows. */
interface Plan {
  readonly batch: number;
  readonly programs: Program[];
  /** The program inputs to write before a batch: z and the first step's previous token. */
  readonly z: GPUBuffer[];
  readonly prevStart: GPUBuffer;
  readonly prevRows: number;
  /** The token ids drawn (B, T) as f32. */
  readonly tokens: GPUBuffer;
  /** Position t's sampler call. */
  readonly samplers: KernelCall[];
  /** Records position t: the decoder, the sampler, the state copies. */
  record(enc: GPUCommandEncoder, t: number): void;
  destroy(): void;
}

export class SequenceDecoder {
  readonly steps: number;
  readonly vocab: number;
  /** Whether the decoder runs one step at a time (else: a whole-sequence pass per position). */
  readonly stepwise: boolean;
  private readonly prev: string;
  private readonly plans = new Map<number, Plan>();

  constructor(
    readonly device: GPUDevice,
    readonly spec: ModelSpec,
    /** The model's parameter block (see modelLayout). */
    readonly params: GPUBuffer,
    /** Rows per submit. */
    readonly batch = 256,
  ) {
    this.prev = previousTokenInput(spec);
    [this.steps, this.vocab] = spec.input as [number, number];
    let stepwise = true;
    try {
      buildDecoderStep(spec, 1, false);
    } catch (e) {
      if (!(e instanceof ModelSpecError)) throw e;
      stepwise = false;
    }
    this.stepwise = stepwise;
  }

  private plan(B: number): Plan {
    let p = this.plans.get(B);
    if (!p) {
      p = this.stepwise ? this.stepPlan(B) : this.passPlan(B);
      this.plans.set(B, p);
    }
    return p;
  }

  private samplers(B: number, tokens: GPUBuffer, logits: (t: number) => GPUBufferBinding, prev: GPUBuffer, single: boolean): KernelCall[] {
    return Array.from({ length: this.steps }, (_, t) => sampleTokens(this.device, { logits: logits(t), tokens, prev }, {
      batch: B, steps: this.steps, vocab: this.vocab, ids: SPECIAL_IDS, temperature: 0, seed: 0, t, single,
    }));
  }

  private stepPlan(B: number): Plan {
    const device = this.device;
    const programs: Program[] = [];
    try {
      const fgs = [buildDecoderStep(this.spec, B, true), buildDecoderStep(this.spec, B, false)] as const;
      for (const fg of fgs) programs.push(new Program(device, fg, { params: this.params }, NO_LOSS, { sample: false }));
      const [first, next] = programs as [Program, Program];
      const tokens = createBuffer(device, B * this.steps * 4, STORAGE, 'decoded tokens');
      const nextPrev = next.inputs.get(this.prev)!;
      const range = (p: Program, t: number) => p.rangeOf(t);
      const samplers = this.samplers(B, tokens, (t) => range(t === 0 ? first : next, (t === 0 ? fgs[0] : fgs[1]).logits), nextPrev, true);
      const copies = (from: Program, fg: DecoderStepGraph) => fgs[1].states.map((s, i) => ({ src: range(from, fg.states[i]!.output), dst: next.inputs.get(fgs[1].graph.name(s.input!))! }));
      const copyPlan = [copies(first, fgs[0]), copies(next, fgs[1])] as const;
      return {
        batch: B, programs, tokens, samplers, prevRows: 1,
        z: programs.map((p) => p.inputs.get('z')!),
        prevStart: first.inputs.get(this.prev)!,
        record(enc, t) {
          encodeCalls(enc, [...(t === 0 ? first : next).calls(), samplers[t]!], `decode step ${t}`);
          for (const c of copyPlan[t === 0 ? 0 : 1]) enc.copyBufferToBuffer(c.src.buffer, c.src.offset ?? 0, c.dst, 0, c.src.size ?? c.dst.size);
        },
        destroy() {
          for (const s of samplers) s.destroy();
          for (const p of programs) p.destroy();
          tokens.destroy();
        },
      };
    } catch (e) {
      for (const p of programs) p.destroy();
      throw e;
    }
  }

  private passPlan(B: number): Plan {
    const device = this.device;
    const fg = buildDecoder(this.spec, B);
    const program = new Program(device, fg, { params: this.params }, NO_LOSS, { sample: false });
    const tokens = createBuffer(device, B * this.steps * 4, STORAGE, 'decoded tokens');
    const prev = program.inputs.get(this.prev)!;
    const logits = program.rangeOf(fg.logits);
    const samplers = this.samplers(B, tokens, () => logits, prev, false);
    return {
      batch: B, programs: [program], tokens, samplers, prevRows: this.steps,
      z: [program.inputs.get('z')!],
      prevStart: prev,
      record(enc, t) {
        encodeCalls(enc, [...program.calls(), samplers[t]!], `decode position ${t}`);
      },
      destroy() {
        for (const s of samplers) s.destroy();
        program.destroy();
        tokens.destroy();
      },
    };
  }

  /** Token ids (N, T) for codes z (N, J): each row up to its end token, then padding. */
  async decode(z: Float32Array, o: DecodeOptions): Promise<Uint16Array> {
    const J = this.spec.latent;
    const T = this.steps;
    const V = this.vocab;
    const n = z.length / J;
    if (!Number.isInteger(n) || n <= 0) throw new Error(`decode: ${z.length} values is not a whole number (≥ 1) of codes of ${J}`);
    if (!(o.temperature >= 0) || !Number.isFinite(o.temperature)) throw new Error(`decode: temperature ${o.temperature}; expected 0 (greedy) or a positive number`);
    const B = Math.min(this.batch, n);
    const p = this.plan(B);
    const out = new Uint16Array(n * T);
    const zeros = new Float32Array(B * T);
    const prevStart = new Float32Array(B * p.prevRows * V);
    for (let b = 0; b < B; b++) prevStart[b * p.prevRows * V + SPECIAL_IDS.start] = 1;
    for (let start = 0; start < n; start += B) {
      const rows = Math.min(B, n - start);
      const chunk = new Float32Array(B * J);
      chunk.set(z.subarray(start * J, (start + rows) * J));
      for (const buf of p.z) this.device.queue.writeBuffer(buf, 0, chunk);
      this.device.queue.writeBuffer(p.prevStart, 0, prevStart);
      this.device.queue.writeBuffer(p.tokens, 0, zeros);
      for (const s of p.samplers) s.setParams({ temperature: o.temperature, seed: o.seed >>> 0, stream: o.stream ?? 5, start });
      const enc = this.device.createCommandEncoder({ label: 'decode' });
      for (let t = 0; t < T; t++) p.record(enc, t);
      this.device.queue.submit([enc.finish()]);
      const [bytes] = await readRanges(this.device, [{ buffer: p.tokens, offset: 0, size: rows * T * 4 }]);
      const ids = new Float32Array(bytes!);
      for (let i = 0; i < rows * T; i++) out[start * T + i] = ids[i]!;
    }
    return out;
  }

  destroy(): void {
    for (const p of this.plans.values()) p.destroy();
    this.plans.clear();
  }
}
