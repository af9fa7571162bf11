/** PyTorch's nn.GRU on fixed values (test/fixtures/gru/gru.json, made by scripts/make_gru_fixture.py). */
import fixture from '../fixtures/gru/gru.json' with { type: 'json' };
import type { GruLayerShape, GruParams } from '../../src/ref/gru.ts';

export interface GruFixtureCase extends GruLayerShape {
  /** sum(dhs ⊙ hs) in PyTorch. */
  readonly loss: number;
  /** state_dict tensors, x, h0, dhs (the loss's gradient w.r.t. hs), hs, h_n, and d<name> for each gradient; flat, row-major. */
  readonly tensors: Readonly<Record<string, readonly number[]>>;
}

export const GRU_FIXTURE: readonly GruFixtureCase[] = fixture.cases as unknown as GruFixtureCase[];

/** A case's parameters as the references take them. */
export function fixtureParams(c: GruFixtureCase): GruParams {
  const t = c.tensors;
  return { weightIh: t.weight_ih_l0!, weightHh: t.weight_hh_l0!, biasIh: t.bias_ih_l0!, biasHh: t.bias_hh_l0! };
}
