/** Activation names and their codes in `shaders/activation_fns.wgsl` (a test checks they agree). */
export const ACTIVATIONS = ['identity', 'relu', 'leaky_relu', 'elu', 'gelu', 'silu', 'tanh', 'sigmoid', 'softplus'] as const;

export type Activation = (typeof ACTIVATIONS)[number];

/** Default `alpha` of the activations that take one (PyTorch's defaults). */
export const DEFAULT_ALPHA: Readonly<Partial<Record<Activation, number>>> = { leaky_relu: 0.01, elu: 1.0 };

/** Activations whose derivative can be computed from their output alone. */
export const GRAD_FROM_OUTPUT: ReadonlySet<Activation> = new Set(['identity', 'relu', 'leaky_relu', 'elu', 'tanh', 'sigmoid']);

export function activationCode(name: Activation): number {
  const i = ACTIVATIONS.indexOf(name);
  if (i < 0) throw new Error(`unknown activation '${name}': expected one of ${ACTIVATIONS.join(', ')}`);
  return i;
}
