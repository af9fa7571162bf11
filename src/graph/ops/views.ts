/**
 * Layers that change a tensor's shape and not its values: `flatten` (to
 * [batch, features]) and `reshape` (to [batch, ...shape]). They add no node:
 * the output is a view sharing the input's storage, and so is its gradient.
 */
import { ModelSpecError } from '../errors.ts';
import { numel } from '../ir.ts';
import type { LayerDef } from '../op.ts';
import { positiveInt } from './fields.ts';

export interface FlattenLayer {
  readonly type: 'flatten';
  readonly name?: string;
  readonly inputs?: readonly string[];
}

export interface ReshapeLayer {
  readonly type: 'reshape';
  readonly name?: string;
  readonly inputs?: readonly string[];
  /** Per-sample shape. */
  readonly shape: readonly number[];
}

export const flattenLayer: LayerDef<FlattenLayer> = {
  type: 'flatten',
  fields: [],
  arity: 1,
  hasParams: false,
  parse: () => ({}),
  build(b, _l, [x]) {
    const s = b.graph.shape(x!);
    return b.view(x!, `${b.graph.name(x!)}.flat`, [b.batch, numel(s.slice(1))]);
  },
};

export const reshapeLayer: LayerDef<ReshapeLayer> = {
  type: 'reshape',
  fields: ['shape'],
  arity: 1,
  hasParams: false,
  parse(raw, path) {
    if (!Array.isArray(raw.shape) || raw.shape.length === 0) throw new ModelSpecError(`${path}.shape: expected a non-empty array of positive integers`);
    return { shape: (raw.shape as unknown[]).map((d, i) => positiveInt(d, `${path}.shape[${i}]`)) };
  },
  build(b, l, [x], where) {
    const s = b.graph.shape(x!);
    const want = numel(l.shape);
    const have = numel(s.slice(1));
    if (want !== have) {
      throw new ModelSpecError(`${where} (reshape): cannot reshape [${s.slice(1).join(', ')}] (${have} values per sample) to [${l.shape.join(', ')}] (${want})`);
    }
    return b.view(x!, `${b.graph.name(x!)}.view`, [b.batch, ...l.shape]);
  },
};
