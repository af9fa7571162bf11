/** Float64 CPU reference of the reparameterization in shaders/reparameterize.wgsl, forward and backward. */

type Arr = ArrayLike<number>;

/** z = μ + exp(½·logvar)·ε, elementwise; ε = null is the deterministic mode (z = μ). */
export function reparameterizeRef(mu: Arr, logvar: Arr, eps: Arr | null): Float64Array {
  const z = new Float64Array(mu.length);
  for (let i = 0; i < z.length; i++) z[i] = mu[i]! + (eps ? Math.exp(0.5 * logvar[i]!) * eps[i]! : 0);
  return z;
}

/** Gradients of Σ z ⊙ dz w.r.t. μ and logvar, for fixed ε: dmu = dz, dlogvar = dz·½·exp(½·logvar)·ε. */
export function reparameterizeBackwardRef(dz: Arr, logvar: Arr, eps: Arr | null): { dmu: Float64Array; dlogvar: Float64Array } {
  const dmu = Float64Array.from(dz);
  const dlogvar = new Float64Array(dz.length);
  if (eps) for (let i = 0; i < dz.length; i++) dlogvar[i] = dz[i]! * 0.5 * Math.exp(0.5 * logvar[i]!) * eps[i]!;
  return { dmu, dlogvar };
}
