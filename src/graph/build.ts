/**
 * From a ModelSpec and a batch size to the forward graph: each section's
 * layers in dependency order (a layer reads the previous one unless it names
 * its `inputs`), shape inference through the op table (errors name the layer
 * and both shapes), parameters in PyTorch's layouts and state_dict order.
 */
import { ModelSpecError } from './errors.ts';
import { Graph, numel } from './ir.ts';
import { makeNode, paramInit, type BuildCtx, type NodeInit, type ParamInit } from './op.ts';
import { ELBO, type Objective } from './objective.ts';
import { LAYERS } from './ops/index.ts';
import { addHeads } from './ops/heads.ts';
import { iwaeRepeatOp, iwaeSampleOp } from './ops/iwae.ts';
import { reparameterizeOp } from './ops/latent.ts';
import { extraInputShape, type LayerSpec, type ModelSpec } from './spec.ts';

export interface ParamInfo {
  /** state_dict name, e.g. "fc1.weight". */
  readonly name: string;
  readonly tensor: number;
  readonly shape: readonly number[];
  /** PyTorch's default init for the parameter (initParams draws from it). */
  readonly init: ParamInit;
  /** The bound of a uniform init U(-bound, bound) (0 for the other inits). */
  readonly initBound: number;
  /**
   * A parameter this one is placed right after in the parameter block, with
   * no padding between, so that a kernel can bind the two as one operand
   * (the μ and log σ² heads' weights as one (2J, I) matrix).
   */
  readonly follows?: string;
}

/** What every compiled graph has: its tensors and nodes, the parameters it reads, its inputs. */
export interface GraphBase {
  readonly graph: Graph;
  readonly spec: ModelSpec;
  readonly batch: number;
  /** The parameters this graph reads (a subset of the model's, for a part). */
  readonly params: readonly ParamInfo[];
  /** The main input (x, or z for the decoder alone), written by the caller or the data feed. */
  readonly input: number;
  /** Every input tensor (role 'input') by name: the main one and the extra inputs the graph reads. */
  readonly inputs: ReadonlyMap<string, number>;
}

export interface ForwardGraph extends GraphBase {
  /** Batch input (B, ...input). */
  readonly x: number;
  readonly mu: number;
  readonly logvar: number;
  /** The latent codes (B, J), or (B·K, J) for K samples per input (row b·K + k is sample k of input b). */
  readonly z: number;
  /** Decoder output (likelihood parameters), shaped like x (B·K rows for K samples per input). */
  readonly logits: number;
  /** A Gaussian likelihood's learned log σ per feature (the parameter `log_sigma`, shaped like one input), or null. */
  readonly logSigma: number | null;
  /** The objective the graph was built for. */
  readonly objective: Objective;
  /** For K samples per input: K and log p(z) − log q(z|x) per sample (B·K); null for the ELBO. */
  readonly samples: { readonly k: number; readonly lw: number } | null;
}

/** Names a layer in errors: its section, index and (when it has one) name. */
function layerWhere(section: string, i: number, l: LayerSpec): string {
  return l.name ? `${section}[${i}] ('${l.name}')` : `${section}[${i}]`;
}

class Builder implements BuildCtx {
  readonly graph = new Graph();
  readonly params: ParamInfo[] = [];
  readonly inputs = new Map<string, number>();
  /** The output tensor of each named layer built so far. */
  readonly layerOutputs = new Map<string, number>();
  private readonly paramNames = new Set<string>();
  /** The layer being built, for errors. */
  where = '';
  /** Rows of the section being built: the batch, or B·K for a decoder of K samples per input. */
  batch: number;
  /** Samples per input the decoder sees (its extra inputs are repeated to B·K rows). */
  private repeat = 1;
  /** Repeated extra inputs, by tensor: the input tensor they repeat. */
  private readonly repeatedFrom = new Map<number, number>();

  constructor(readonly spec: ModelSpec, readonly inputBatch: number) {
    this.batch = inputBatch;
  }

  /** From here on, sections run on K rows per input (the decoder of an importance-weighted objective). */
  repeatRows(k: number): void {
    this.repeat = k;
    this.batch = this.inputBatch * k;
  }

  /** Declares a parameter; `follows` places it right after that (earlier) parameter in the block (ParamInfo.follows). */
  param(name: string, shape: readonly number[], initOrBound: number | ParamInit, follows?: string): number {
    if (this.paramNames.has(name)) throw new ModelSpecError(`${this.where}: parameter name '${name}' is used twice`);
    if (follows !== undefined && !this.paramNames.has(follows)) throw new Error(`parameter '${name}' follows '${follows}', which is not declared before it`);
    this.paramNames.add(name);
    const t = this.graph.tensor(name, shape, 'param');
    const init = paramInit(initOrBound);
    this.params.push({ name, tensor: t, shape: [...shape], init, initBound: init.kind === 'uniform' ? init.bound : 0, ...(follows !== undefined ? { follows } : {}) });
    return t;
  }

  inputKind(t: number): string | null {
    const storage = this.graph.storageOf(t);
    const s = this.graph.tensors[this.repeatedFrom.get(storage) ?? storage]!;
    if (s.role !== 'input') return null;
    return s.name === 'x' || s.name === 'z' ? s.name : this.spec.extraInputs?.[s.name]?.type ?? null;
  }

  temp(name: string, shape: readonly number[]): number {
    return this.graph.tensor(name, shape, 'temp');
  }

  view(of: number, name: string, shape: readonly number[]): number {
    return this.graph.tensor(name, shape, 'temp', of);
  }

  add<A>(node: NodeInit<A>): void {
    this.graph.add(makeNode(node, 'forward'));
  }

  /** The input tensor `name` (made on first use: the encoder and the decoder share an extra input). */
  input(name: string, shape: readonly number[]): number {
    const have = this.inputs.get(name);
    if (have !== undefined) return have;
    const t = this.graph.tensor(name, [this.inputBatch, ...shape], 'input');
    this.inputs.set(name, t);
    return t;
  }

  /** The extra inputs the section's layers name, as input tensors of this graph (one tensor per input, shared by the encoder and the decoder). */
  extraInputs(layers: readonly LayerSpec[]): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, e] of Object.entries(this.spec.extraInputs ?? {})) {
      if (layers.some((l) => l.inputs?.includes(name))) out.set(name, this.rows(this.inputs.get(name) ?? this.input(name, extraInputShape(this.spec, e))));
    }
    return out;
  }

  /** An input as the current section sees it: itself, or repeated to K rows per input. */
  private rows(input: number): number {
    if (this.repeat === 1) return input;
    const out = this.temp(`${this.graph.name(input)}.repeated`, [this.batch, ...this.graph.shape(input).slice(1)]);
    this.repeatedFrom.set(out, input);
    this.add({ op: iwaeRepeatOp, ins: { x: input }, outs: { out }, attrs: { k: this.repeat }, label: `${this.graph.name(input)}: rows repeated K = ${this.repeat} times` });
    return out;
  }

  layer(l: LayerSpec, inputs: readonly number[], where: string): number {
    const def = LAYERS.get(l.type);
    if (!def) throw new ModelSpecError(`${where}.type: unknown layer type ${JSON.stringify(l.type)}; expected one of ${[...LAYERS.keys()].join(', ')}`);
    this.where = where;
    return def.build(this, l as never, inputs, where);
  }

  /**
   * Builds one section's layers from `start` (x or z) and returns the output
   * of the last layer of the list. `visible` names the extra inputs.
   */
  section(section: 'encoder' | 'decoder', layers: readonly LayerSpec[], start: { name: string; tensor: number }, visible: ReadonlyMap<string, number>): number {
    if (layers.length === 0) return start.tensor;
    const byName = new Map<string, number>();
    layers.forEach((l, i) => {
      if (l.name === undefined) return;
      if (l.name === start.name || visible.has(l.name) || l.name === 'x' || l.name === 'z') {
        throw new ModelSpecError(`${layerWhere(section, i, l)}.name: '${l.name}' is the name of a model input; choose another`);
      }
      const j = byName.get(l.name);
      if (j !== undefined) throw new ModelSpecError(`${layerWhere(section, i, l)}.name: '${l.name}' is also the name of ${section}[${j}]`);
      byName.set(l.name, i);
    });
    const deps = layers.map((l, i) => this.dependencies(section, layers, i, l, byName, start.name, visible));
    const order = topologicalOrder(section, layers, deps);
    const out = new Map<number, number>();
    const consumers = new Map<string | number, number>();
    for (const i of order) {
      const l = layers[i]!;
      const ins = deps[i]!.map((d) => {
        consumers.set(d, (consumers.get(d) ?? 0) + 1);
        return typeof d === 'number' ? out.get(d)! : d === start.name ? start.tensor : visible.get(d)!;
      });
      const y = this.layer(l, ins, `${section}[${i}]`);
      out.set(i, y);
      if (l.name !== undefined) this.layerOutputs.set(l.name, y);
    }
    const last = layers.length - 1;
    for (let i = 0; i < last; i++) {
      if (!consumers.has(i)) {
        throw new ModelSpecError(`${layerWhere(section, i, layers[i]!)}: its output is read by no layer (the ${section}'s output is its last layer); name it in a later layer's inputs or remove it`);
      }
    }
    return out.get(last)!;
  }

  /** What layer i reads: indices of layers of the section, or the names of the start and the extra inputs. */
  private dependencies(section: string, layers: readonly LayerSpec[], i: number, l: LayerSpec, byName: ReadonlyMap<string, number>, startName: string, visible: ReadonlyMap<string, number>): (number | string)[] {
    const where = layerWhere(section, i, l);
    const def = LAYERS.get(l.type);
    if (!def) throw new ModelSpecError(`${where}.type: unknown layer type ${JSON.stringify(l.type)}; expected one of ${[...LAYERS.keys()].join(', ')}`);
    const names = l.inputs ?? [i === 0 ? startName : i - 1];
    const [min, max] = def.arity === 'many' ? [2, Infinity] : typeof def.arity === 'number' ? [def.arity, def.arity] : def.arity;
    const need = max === Infinity ? `at least ${min}` : min === max ? `${min}` : `${min} or ${max}`;
    if (names.length < min || names.length > max) {
      throw new ModelSpecError(`${where}.inputs: a ${l.type} layer takes ${need} input${need === '1' ? '' : 's'}, got ${names.length}${l.inputs ? '' : ' (the previous layer): name its inputs'}`);
    }
    return names.map((n, k) => {
      if (typeof n === 'number') return n;
      if (n === startName || visible.has(n)) return n;
      const j = byName.get(n);
      if (j === undefined) {
        const known = [startName, ...visible.keys(), ...byName.keys()].filter((x) => x !== l.name);
        const other = section === 'decoder' && n !== 'z' ? ' (the decoder reads only z, the extra inputs and its own layers)' : '';
        throw new ModelSpecError(`${where}.inputs[${k}]: unknown input '${n}'${other}; expected one of ${known.join(', ')}`);
      }
      if (j === i) throw new ModelSpecError(`${where}.inputs[${k}]: the layer reads its own output`);
      return j;
    });
  }
}

/** Layer indices in an order where each comes after what it reads (list order among the free ones); refuses a cycle. */
function topologicalOrder(section: string, layers: readonly LayerSpec[], deps: readonly (number | string)[][]): number[] {
  const pending = deps.map((d) => new Set(d.filter((x): x is number => typeof x === 'number')));
  const done: number[] = [];
  const placed = new Set<number>();
  while (done.length < layers.length) {
    const next = pending.findIndex((p, i) => !placed.has(i) && [...p].every((j) => placed.has(j)));
    if (next < 0) {
      const stuck = pending.map((_, i) => i).filter((i) => !placed.has(i));
      throw new ModelSpecError(`${section}: the layers ${stuck.map((i) => layerWhere(section, i, layers[i]!)).join(', ')} read each other's outputs in a cycle; a model must be acyclic`);
    }
    placed.add(next);
    done.push(next);
  }
  return done;
}

/** The μ and log σ² heads from the encoder's output h. */
function heads(b: Builder, h: number): { mu: number; logvar: number } {
  const spec = b.spec;
  const hs = b.graph.shape(h);
  if (hs.length !== 2) {
    throw new ModelSpecError(`encoder: its output has shape [${hs.join(', ')}]; the μ and log σ² heads need [batch, features]: end the encoder with a flatten layer`);
  }
  b.where = 'heads';
  return addHeads(b, h, spec.heads, spec.latent);
}

function checkBatch(batch: number): void {
  if (!Number.isInteger(batch) || batch <= 0) throw new ModelSpecError(`batch: expected a positive integer, got ${batch}`);
}

function encoder(b: Builder): { x: number; mu: number; logvar: number } {
  const spec = b.spec;
  const x = b.input('x', spec.input);
  const h = b.section('encoder', spec.encoder, { name: 'x', tensor: x }, b.extraInputs(spec.encoder));
  return { x, ...heads(b, h) };
}

/** The decoder from z; its output must hold the input's number of values per sample. */
function decoder(b: Builder, z: number): number {
  const spec = b.spec;
  const y = b.section('decoder', spec.decoder, { name: 'z', tensor: z }, b.extraInputs(spec.decoder));
  const ys = b.graph.shape(y);
  const d = numel(spec.input);
  if (numel(ys.slice(1)) !== d) {
    throw new ModelSpecError(`decoder: its output has shape [${ys.slice(1).join(', ')}] per sample (${numel(ys.slice(1))} values); the input has [${spec.input.join(', ')}] (${d}): the decoder must end at the input's size`);
  }
  if (spec.likelihood.type === 'categorical' && d % spec.likelihood.classes !== 0) {
    throw new ModelSpecError(`likelihood.classes: ${spec.likelihood.classes} does not divide the ${d} features per sample`);
  }
  const full = [b.batch, ...spec.input];
  return ys.length === full.length && ys.every((v, i) => v === full[i]) ? y : b.view(y, 'logits', full);
}

function base(b: Builder, input: number): GraphBase {
  return { graph: b.graph, spec: b.spec, batch: b.inputBatch, params: b.params, input, inputs: b.inputs };
}

/**
 * Builds the forward graph (encoder, heads, reparameterization, decoder) for
 * a batch size. For an importance-weighted objective the encoder runs once
 * on the B inputs, K samples of z are drawn per input, and the decoder runs
 * on the B·K samples (its extra inputs repeated K times).
 */
export function buildForward(spec: ModelSpec, batch: number, objective: Objective = ELBO): ForwardGraph {
  checkBatch(batch);
  const b = new Builder(spec, batch);
  const { x, mu, logvar } = encoder(b);
  let z: number;
  let samples: ForwardGraph['samples'] = null;
  if (objective.kind === 'iwae') {
    if (spec.autoencoder) throw new ModelSpecError(`objective iwae:${objective.k}: a plain autoencoder draws no samples of z; use the elbo objective`);
    const k = objective.k;
    z = b.temp('z', [batch * k, spec.latent]);
    const lw = b.temp('lw', [batch * k]);
    b.add({ op: iwaeSampleOp, ins: { mu, logvar }, outs: { z, lw }, attrs: { k, dreg: objective.dreg }, label: `${k} samples of z per input` });
    b.repeatRows(k);
    samples = { k, lw };
  } else {
    z = b.temp('z', [batch, spec.latent]);
    b.add({ op: reparameterizeOp, ins: { mu, logvar }, outs: { z }, attrs: { autoencoder: !!spec.autoencoder }, label: 'reparameterize' });
  }
  const logits = decoder(b, z);
  for (const t of [mu, logvar, z, logits]) b.graph.outputs.add(t);
  const lk = spec.likelihood;
  // nn.Parameter(torch.zeros(*input)) in PyTorch: σ = 1 at the start.
  const logSigma = lk.type === 'gaussian' && lk.learnSigma ? b.param('log_sigma', spec.input, 0) : null;
  return { ...base(b, x), x, mu, logvar, z, logits, logSigma, objective, samples };
}

/** The encoder alone: x (B, ...input) → μ, log σ² (B, J). */
export function buildEncoder(spec: ModelSpec, batch: number): GraphBase & { readonly mu: number; readonly logvar: number } {
  checkBatch(batch);
  const b = new Builder(spec, batch);
  const { x, mu, logvar } = encoder(b);
  b.graph.outputs.add(mu);
  b.graph.outputs.add(logvar);
  return { ...base(b, x), mu, logvar };
}

/** The decoder alone: z (B, J) → the likelihood's parameters (B, ...input). */
export function buildDecoder(spec: ModelSpec, batch: number): GraphBase & { readonly logits: number } {
  checkBatch(batch);
  const b = new Builder(spec, batch);
  const z = b.input('z', [spec.latent]);
  const logits = decoder(b, z);
  b.graph.outputs.add(logits);
  return { ...base(b, z), logits };
}

/** Layer types that act on each time step of a (B, T, F) sequence on its own, or carry a state from step to step (gru). */
const STEPWISE = new Set(['dense', 'activation', 'repeat', 'concat', 'add', 'embedding', 'gru']);

export interface DecoderStepGraph extends GraphBase {
  /** The step's logits (B, 1, V). */
  readonly logits: number;
  /**
   * Each recurrent layer's state: the input tensor the step starts from
   * (null in the first step's graph, which starts as the model does: from
   * the layer's initial-state input, or zeros) and its state after the step.
   */
  readonly states: readonly { readonly layer: string; readonly input: number | null; readonly output: number }[];
}

/**
 * One time step of a sequence model's decoder (input [T, V], decoder reading
 * the previous tokens), for autoregressive decoding in T steps instead of T
 * passes over the whole sequence: the decoder at T = 1, every repeat over
 * the T steps made a single step, and (unless `first`) each GRU starting
 * from the state input `state:<layer>` instead of its initial state (the
 * layers that only computed the initial state are left out). The graph
 * reads the model's parameter block as the whole decoder does. Refuses a
 * decoder with layers that mix time steps (a convolution over time): such a
 * model is decoded by whole-sequence passes.
 */
export function buildDecoderStep(spec: ModelSpec, batch: number, first: boolean): DecoderStepGraph {
  checkBatch(batch);
  const prev = Object.entries(spec.extraInputs ?? {}).find(([, e]) => e.type === 'previous-tokens');
  if (spec.input.length !== 2 || !prev) throw new ModelSpecError(`decoder: step-by-step decoding needs a sequence model (input [T, V]) whose decoder reads the previous tokens; this one has input [${spec.input.join(', ')}]${prev ? '' : ' and no previous-tokens input'}`);
  const T = spec.input[0]!;
  // Every layer named and reading named inputs, so that inputs can be rewired and unused layers dropped.
  const named = spec.decoder.map((l, i) => ({ ...l, name: l.name ?? `#${i}`, inputs: l.inputs ?? [i === 0 ? 'z' : spec.decoder[i - 1]!.name ?? `#${i - 1}`] }) as LayerSpec & { name: string; inputs: readonly string[] });
  const layers = named.map((l, i) => {
    if (!STEPWISE.has(l.type)) throw new ModelSpecError(`decoder[${i}] ('${l.name}'): a ${l.type} layer mixes time steps, so this decoder cannot run one step at a time; decode it by whole-sequence passes`);
    if (l.type === 'repeat') {
      if (l.times !== T) throw new ModelSpecError(`decoder[${i}] ('${l.name}'): repeat ${l.times} times; step-by-step decoding needs repeats over the model's ${T} steps`);
      return { ...l, times: 1 };
    }
    if (l.type === 'gru' && !first) return { ...l, inputs: [l.inputs[0]!, `state:${l.name}`] };
    return l;
  });
  // Keep only what the last layer reads.
  const byName = new Map(layers.map((l) => [l.name, l]));
  const needed = new Set<string>();
  const visit = (name: string) => {
    const l = byName.get(name);
    if (!l || needed.has(name)) return;
    needed.add(name);
    for (const n of l.inputs) visit(n);
  };
  visit(layers[layers.length - 1]!.name);
  const kept = layers.filter((l) => needed.has(l.name));
  const stepSpec: ModelSpec = { ...spec, input: [1, spec.input[1]!], decoder: kept };
  const b = new Builder(stepSpec, batch);
  const z = b.input('z', [spec.latent]);
  const visible = b.extraInputs(kept);
  const grus = kept.filter((l): l is typeof l & { type: 'gru'; hidden: number } => l.type === 'gru');
  const stateInputs = new Map<string, number>();
  if (!first) for (const l of grus) stateInputs.set(l.name, b.input(`state:${l.name}`, [l.hidden]));
  for (const [name, t] of stateInputs) visible.set(`state:${name}`, t);
  const y = b.section('decoder', kept, { name: 'z', tensor: z }, visible);
  const ys = b.graph.shape(y);
  if (numel(ys.slice(1)) !== spec.input[1]) throw new ModelSpecError(`decoder: a step's output has shape [${ys.slice(1).join(', ')}]; expected [1, ${spec.input[1]}]`);
  const logits = ys.length === 3 ? y : b.view(y, 'logits', [batch, 1, spec.input[1]!]);
  b.graph.outputs.add(logits);
  const states = grus.map((l) => {
    const output = b.layerOutputs.get(l.name)!;
    b.graph.outputs.add(output);
    return { layer: l.name, input: stateInputs.get(l.name) ?? null, output };
  });
  // Parameters sit where the whole model's layout puts them.
  return { ...base(b, z), spec, logits, states };
}

const layouts = new WeakMap<ModelSpec, { names: Map<string, number>; total: number }>();

/**
 * Float offset of every parameter of the model in the parameter block, by
 * state_dict name, and the block's size. Each parameter starts at a multiple
 * of 64 floats so it can be bound on its own, except one that follows
 * another (ParamInfo.follows): it comes right after that one, and the pair
 * is bound as one operand. Parts of the model bind the same block.
 */
export function modelLayout(spec: ModelSpec): { names: ReadonlyMap<string, number>; total: number } {
  let l = layouts.get(spec);
  if (!l) {
    const params = buildForward(spec, 1).params;
    const names = new Map<string, number>();
    let pos = 0;
    for (const p of params) {
      if (p.follows !== undefined) continue;
      // p, then the chain of parameters that follow it, with no padding between.
      for (let q: ParamInfo | undefined = p; q; q = params.find((r) => r.follows === q!.name)) {
        names.set(q.name, pos);
        pos += numel(q.shape);
      }
      pos = Math.ceil(pos / 64) * 64;
    }
    l = { names, total: Math.max(pos, 64) };
    layouts.set(spec, l);
  }
  return l;
}
