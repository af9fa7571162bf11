/**
 * Labels of backward nodes (Program.describe(), cost tables), one scheme for
 * every op:
 *
 *   <layer>: <gradient>[ = <how>] (<op>)
 *
 * - <layer>: the layer's name (its state_dict prefix, or its place in the model).
 * - <gradient>: what the node writes: dW and db (the layer's weight and bias),
 *   dX (its input), dpre (its output before its activation), d(<tensor>)
 *   for an input of a layer with several (add, concat), dh0, dW_hh, db_hh (a
 *   GRU's initial state and recurrent parameters), dgi, dgh (its gate
 *   gradients), dmu, dlogvar (the latent heads).
 * - <how>: the formula or reduction, where it helps (dW = dYᵀ·X).
 * - <op>: the graph op the node runs; its WGSL entry point and the TS
 *   function that builds its call carry the same name (src/graph/README.md,
 *   Names).
 *
 * For example `enc.conv1: dW (conv2d_backward_weight)`, `fc1: dX = dY·W (matmul)`,
 * `enc.conv1: db (sum_axes)`.
 */

/** The label of a backward node of `layer` that writes `gradient` with `op`. */
export function gradLabel(layer: string, gradient: string, op: { readonly name: string }): string {
  return `${layer}: ${gradient} (${op.name})`;
}
