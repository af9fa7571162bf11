/**
 * `embedding` (nn.Embedding): y = weight[idx], the rows of a (V, E) table
 * picked by token indices, for every position of the input: (B, T) indices
 * give (B, T, E), the layout nn.Embedding returns and nn.GRU(batch_first)
 * reads, or with `transpose` (B, E, T), the layout nn.Conv1d reads. The
 * indices are the model's input x (or a view of it): f32 holding exact
 * integers in [0, V), checked on the host before they reach the GPU
 * (TrainingSession.attachData, Inference, Program.writeInput: see tokenInputs).
 * The backward is `embedding_backward`, the deterministic scatter-add
 * dweight[v] = Σ_{p : idx[p] = v} dy[p]; no gradient flows to the indices.
 */
import type { Activation } from '../../kernels/activation-codes.ts';
import { embedding as embeddingKernel, embeddingBackward as embeddingBackwardKernel } from '../../kernels/embedding.ts';
import { embeddingBackwardRef, embeddingRef } from '../../ref/embedding.ts';
import { ModelSpecError } from '../errors.ts';
import { numel, type Graph } from '../ir.ts';
import type { LayerDef, OpDef } from '../op.ts';
import { applyActivation, parseActivation } from './activation.ts';
import { booleanField, positiveInt } from './fields.ts';
import { gradLabel } from './labels.ts';

export interface EmbeddingLayer {
  readonly type: 'embedding';
  readonly name: string;
  readonly inputs?: readonly string[];
  /** num_embeddings: V, the vocabulary size. */
  readonly vocab: number;
  /** embedding_dim: E. */
  readonly dim: number;
  /** Output [B, dim, T] (the layout nn.Conv1d reads, as `.transpose(1, 2)` gives in PyTorch) instead of [B, T, dim]. */
  readonly transpose?: boolean;
  readonly activation?: Activation;
}

export interface EmbeddingAttrs {
  /** N: positions (B·T). */
  readonly positions: number;
  readonly vocab: number;
  readonly dim: number;
  /** Output (B, E, T) with T = steps. */
  readonly transpose: boolean;
  readonly steps: number;
  readonly layer: string;
}

/** The kernels' and references' options of a node. */
function options(a: EmbeddingAttrs) {
  return { positions: a.positions, vocab: a.vocab, dim: a.dim, ...(a.transpose ? { transpose: true, steps: a.steps } : {}) };
}

/** The model inputs read as token indices, by input name: the vocabulary they must fit (the smallest of the embeddings reading them) and those layers. */
export function tokenInputs(g: Graph): Map<string, { vocab: number; layers: string[] }> {
  const out = new Map<string, { vocab: number; layers: string[] }>();
  for (const n of g.nodes) {
    if (n.op !== 'embedding') continue;
    const t = g.tensors[g.storageOf(n.ins.indices!)]!;
    if (t.role !== 'input') continue;
    const a = n.attrs as EmbeddingAttrs;
    const e = out.get(t.name);
    if (e) {
      e.vocab = Math.min(e.vocab, a.vocab);
      e.layers.push(a.layer);
    } else {
      out.set(t.name, { vocab: a.vocab, layers: [a.layer] });
    }
  }
  return out;
}

export const embeddingBackwardOp: OpDef<EmbeddingAttrs> = {
  name: 'embedding_backward',
  compile(c, n) {
    const bufs = { indices: c.at(n.ins.indices!), dy: c.at(n.ins.dy!), dweight: c.at(n.outs.dw!) };
    return [{ call: embeddingBackwardKernel(c.device, bufs, { ...options(n.attrs), accumulate: n.accumulate }) }];
  },
  // One add per (position, column); the kernel also compares every index once per row and 4 columns.
  cost: (_g, n) => ({ flops: n.attrs.positions * n.attrs.dim }),
  reference(r, n) {
    r.write(n, 'dw', embeddingBackwardRef(r.get(n.ins.indices!), r.get(n.ins.dy!), options(n.attrs)));
  },
};

export const embeddingOp: OpDef<EmbeddingAttrs> = {
  name: 'embedding',
  compile(c, n) {
    return [{ call: embeddingKernel(c.device, { indices: c.at(n.ins.indices!), weight: c.at(n.ins.w!), y: c.at(n.outs.y!) }, options(n.attrs)) }];
  },
  backward(c, n) {
    const y = n.outs.y!;
    if (!c.has(y)) return;
    const dw = c.write(n.ins.w!)!;
    c.add({ op: embeddingBackwardOp, ins: { indices: n.ins.indices!, dy: c.get(y) }, outs: { dw: dw.d }, attrs: n.attrs, label: gradLabel(n.attrs.layer, 'dW = scatter-add of dY', embeddingBackwardOp), accumulate: dw.accumulate });
  },
  // A gather: no arithmetic; it reads N indices and N rows of E, and writes N·E.
  cost: (_g, n) => ({ flops: 0, bytes: 4 * (n.attrs.positions + 2 * n.attrs.positions * n.attrs.dim) }),
  reference(r, n) {
    r.write(n, 'y', embeddingRef(r.get(n.ins.indices!), r.get(n.ins.w!), options(n.attrs)));
  },
};

export const embeddingLayer: LayerDef<EmbeddingLayer> = {
  type: 'embedding',
  fields: ['vocab', 'dim', 'transpose', 'activation'],
  arity: 1,
  hasParams: true,
  parse(raw, path) {
    const act = parseActivation(raw.activation, `${path}.activation`);
    const transpose = booleanField(raw.transpose, `${path}.transpose`, false);
    return { vocab: positiveInt(raw.vocab, `${path}.vocab`), dim: positiveInt(raw.dim, `${path}.dim`), ...(transpose ? { transpose } : {}), ...(act ? { activation: act } : {}) };
  },
  build(b, l, [x], where) {
    const kind = b.inputKind(x!);
    if (kind !== 'x') {
      const name = b.graph.name(x!);
      const what = kind === 'z' || name === 'z' ? 'the latent z' : kind === null ? `the output of another layer ('${name}')` : `the '${kind}' input '${name}'`;
      throw new ModelSpecError(`${where} (embedding '${l.name}'): reads ${what}; an embedding reads token indices, which a model takes as its input x (f32 integers in [0, ${l.vocab}))`);
    }
    if (l.vocab > 2 ** 24) throw new ModelSpecError(`${where} (embedding '${l.name}').vocab: ${l.vocab} exceeds 2^24 (indices are f32 exact integers)`);
    const s = b.graph.shape(x!);
    const positions = numel(s);
    if (l.transpose && s.length !== 2) {
      throw new ModelSpecError(`${where} (embedding '${l.name}').transpose: the input has shape [${s.join(', ')}]; a transposed embedding reads sequences [batch, steps] and gives [batch, dim, steps]`);
    }
    const w = b.param(`${l.name}.weight`, [l.vocab, l.dim], { kind: 'normal', std: 1 });
    const y = b.temp(`${l.name}.out`, l.transpose ? [s[0]!, l.dim, s[1]!] : [...s, l.dim]);
    const attrs: EmbeddingAttrs = { positions, vocab: l.vocab, dim: l.dim, transpose: !!l.transpose, steps: s[s.length - 1]!, layer: l.name };
    b.add({ op: embeddingOp, ins: { indices: x!, w }, outs: { y }, attrs, label: `${l.name} forward` });
    return l.activation && l.activation !== 'identity' ? applyActivation(b, l.activation, y, l.name) : y;
  },
};
