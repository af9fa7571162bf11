/**
 * The op table: every layer type of the model format and every node op of
 * the graph, each defined once in its module. Autodiff, the compiler, the
 * cost model, the whole-model reference and the model parser look ops up
 * here. To add an op, see src/graph/README.md.
 */
import type { LayerDef, OpDef } from '../op.ts';
import { activationBackwardSumOp } from './act-sum.ts';
import { activationBackwardOp, activationLayer, activationOp, type ActivationLayer } from './activation.ts';
import { addBackwardOp, addLayer, addOp, type AddLayer } from './add.ts';
import { conv2dLayer, conv2dOp, convBackwardOps, convTranspose2dLayer, convTranspose2dOp, type ConvLayer } from './conv.ts';
import { concatBackwardOp, concatLayer, concatOp, type ConcatLayer } from './concat.ts';
import { conv1dBackwardInputOp, conv1dBackwardWeightOp, conv1dLayer, conv1dOp, type Conv1dLayer } from './conv1d.ts';
import { denseLayer, denseOp, type DenseLayer } from './dense.ts';
import { elboKlOp, elboReconOp } from './elbo.ts';
import { embeddingBackwardOp, embeddingLayer, embeddingOp, type EmbeddingLayer } from './embedding.ts';
import { headsBiasGradOp, headsInputGradOp, headsOp, headsSplitOp, headsWeightGradOp } from './heads.ts';
import { gruBackwardH0Op, gruLayer, gruRecurrenceBackwardOp, gruRecurrenceOp, type GruLayer } from './gru.ts';
import { iwaeBoundOp, iwaeLatentBackwardOp, iwaeRepeatOp, iwaeSampleOp, iwaeStatsOp } from './iwae.ts';
import { latentBackwardOp, reparameterizeOp } from './latent.ts';
import { matmulOp } from './matmul.ts';
import { groupNormLayer, groupNormOp, layerNormLayer, layerNormOp, normBackwardInputOp, normBackwardParamsOp, type GroupNormLayer, type LayerNormLayer } from './norm.ts';
import { sumAxesOp } from './sum-axes.ts';
import { upsampleBackwardOp, upsampleLayer, upsampleOp, type UpsampleLayer } from './upsample.ts';
import { adamOp, clipGradNormOp, nonFiniteScanOp, sgdOp } from './update.ts';
import { repeatBackwardOp, repeatLayer, repeatOp, transposeLayer, transposeOp, type RepeatLayer, type TransposeLayer } from './layout.ts';
import { flattenLayer, reshapeLayer, type FlattenLayer, type ReshapeLayer } from './views.ts';

/** A layer of a model definition: one of the layer types below. */
export type LayerSpec = DenseLayer | ConvLayer | ActivationLayer | FlattenLayer | ReshapeLayer | AddLayer | Conv1dLayer | UpsampleLayer | ConcatLayer | GroupNormLayer | LayerNormLayer
  | EmbeddingLayer | GruLayer | TransposeLayer | RepeatLayer;

/** Every layer type, by its `type`. */
export const LAYERS: ReadonlyMap<string, LayerDef> = new Map(
  ([denseLayer, conv2dLayer, convTranspose2dLayer, activationLayer, flattenLayer, reshapeLayer, addLayer, conv1dLayer, upsampleLayer, concatLayer, groupNormLayer, layerNormLayer,
    embeddingLayer, gruLayer, transposeLayer, repeatLayer] as unknown as LayerDef[]).map((l) => [l.type, l]),
);

/** Every node op, by name. */
export const OPS: ReadonlyMap<string, OpDef> = new Map(
  ([
    denseOp, conv2dOp, convTranspose2dOp, ...convBackwardOps, activationOp, activationBackwardOp, activationBackwardSumOp, matmulOp, sumAxesOp, addOp, addBackwardOp,
    headsOp, headsSplitOp, headsWeightGradOp, headsBiasGradOp, headsInputGradOp,
    reparameterizeOp, latentBackwardOp, elboReconOp, elboKlOp, clipGradNormOp, nonFiniteScanOp, adamOp, sgdOp,
    conv1dOp, conv1dBackwardWeightOp, conv1dBackwardInputOp, upsampleOp, upsampleBackwardOp, concatOp, concatBackwardOp,
    groupNormOp, layerNormOp, normBackwardInputOp, normBackwardParamsOp,
    embeddingOp, embeddingBackwardOp, gruRecurrenceOp, gruRecurrenceBackwardOp, gruBackwardH0Op,
    transposeOp, repeatOp, repeatBackwardOp,
    iwaeSampleOp, iwaeLatentBackwardOp, iwaeRepeatOp, iwaeBoundOp, iwaeStatsOp,
  ] as OpDef<unknown>[]).map((o) => [o.name, o]),
);

/** The op of a node, with a clear error for a name not in the table. */
export function opOf(name: string): OpDef {
  const op = OPS.get(name);
  if (!op) throw new Error(`op table: no op '${name}' (known: ${[...OPS.keys()].join(', ')})`);
  return op;
}
