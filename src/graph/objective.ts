/**
 * The training objective: the ELBO (one sample of z per input, analytic KL),
 * or the importance-weighted bound of Burda et al. 2016 with K samples per
 * input (`iwae:K`), optionally with the doubly reparameterized encoder
 * gradient of Tucker et al. 2019 (`iwae-dreg:K`). Written as text in run
 * configurations and on the command line; the graph builder takes the parsed form.
 */
import { IWAE_MAX_K } from '../kernels/iwae.ts';

export type Objective =
  | { readonly kind: 'elbo' }
  /** K samples of z per input; `dreg`: the doubly reparameterized estimator for the encoder. */
  | { readonly kind: 'iwae'; readonly k: number; readonly dreg: boolean };

export const ELBO: Objective = { kind: 'elbo' };

export { IWAE_MAX_K };

/** What an objective text may be, for error messages. */
export const OBJECTIVE_FORMS = `elbo, iwae:K or iwae-dreg:K (K an integer from 1 to ${IWAE_MAX_K})`;

export class ObjectiveError extends Error {
  override readonly name = 'ObjectiveError';
}

/** Parses 'elbo', 'iwae:K' or 'iwae-dreg:K'; anything else is refused in one line. */
export function parseObjective(text: string): Objective {
  const t = text.trim();
  if (t === 'elbo') return ELBO;
  const m = /^(iwae|iwae-dreg):(.*)$/.exec(t);
  if (!m) throw new ObjectiveError(`objective: got ${JSON.stringify(text)}; expected ${OBJECTIVE_FORMS}`);
  const raw = m[2]!.trim();
  const k = Number(raw);
  if (raw === '' || !Number.isInteger(k) || k < 1) {
    throw new ObjectiveError(`objective ${JSON.stringify(text)}: K = ${JSON.stringify(raw)} is not a positive integer; expected ${OBJECTIVE_FORMS}`);
  }
  if (k > IWAE_MAX_K) throw new ObjectiveError(`objective ${JSON.stringify(text)}: K = ${k} is above ${IWAE_MAX_K}, the most samples per input the objective takes`);
  return { kind: 'iwae', k, dreg: m[1] === 'iwae-dreg' };
}

/** The text form of an objective (parseObjective's inverse). */
export function objectiveText(o: Objective): string {
  return o.kind === 'elbo' ? 'elbo' : `${o.dreg ? 'iwae-dreg' : 'iwae'}:${o.k}`;
}

/** Rows the decoder runs per input: K for an importance-weighted objective, 1 for the ELBO. */
export function samplesPerInput(o: Objective): number {
  return o.kind === 'elbo' ? 1 : o.k;
}

/**
 * Refuses loss settings the importance-weighted bound has no place for: it
 * has no separate KL term to weight (β = 1, constant), to hold (free bits)
 * or to replace (a plain autoencoder), and no latent L2 penalty.
 */
export function checkObjectiveSettings(o: Objective, s: { readonly beta: number; readonly klScheduleConstant: boolean; readonly freeBits: number; readonly latentL2: number; readonly autoencoder: boolean }): void {
  if (o.kind === 'elbo') return;
  const name = objectiveText(o);
  const bad = [
    s.autoencoder ? 'a plain autoencoder (it draws no samples of z)' : '',
    s.beta !== 1 ? `β = ${s.beta}` : '',
    !s.klScheduleConstant ? 'a KL schedule' : '',
    s.freeBits > 0 ? `free bits ${s.freeBits}` : '',
    s.latentL2 > 0 ? `latent L2 ${s.latentL2}` : '',
  ].filter(Boolean);
  if (bad.length) {
    throw new ObjectiveError(`objective ${name}: the importance-weighted bound has no KL term to weight or hold and no latent penalty; it takes β = 1, a constant KL schedule, no free bits, no latent L2 and a VAE (got ${bad.join(', ')})`);
  }
}
