/** The float64 CPU references of the kernels, forward and backward (src/ref), for checking GPU results. */
export * from '../ref/act-sum.ts';
export * from '../ref/activation.ts';
export * from '../ref/conv.ts';
export * from '../ref/data.ts';
export * from '../ref/elbo.ts';
export * from '../ref/matmul.ts';
export * from '../ref/nonfinite.ts';
export * from '../ref/optim.ts';
export * from '../ref/philox.ts';
export * from '../ref/reduce.ts';
export * from '../ref/reparameterize.ts';
