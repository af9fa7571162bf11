/** Every GPU test case, run the same way in Node and in headless Chromium. */
import { activationCases } from './activation.ts';
import { convCases } from './conv.ts';
import { dataCases } from './data.ts';
import { elboCases } from './elbo.ts';
import { inferenceCases } from './inference.ts';
import { iwCases } from './iw.ts';
import { limitCases } from './limits.ts';
import { matmulCases, matmulVariantCases } from './matmul.ts';
import { modelCases } from './model.ts';
import { nonFiniteCases } from './nonfinite.ts';
import { optimCases } from './optim.ts';
import { reduceCases } from './reduce.ts';
import { rngCases } from './rng.ts';
import { shaderCases } from './shaders.ts';
import type { GpuCase } from './types.ts';

export const ALL_CASES: readonly GpuCase[] = [...shaderCases, ...matmulCases, ...matmulVariantCases, ...convCases, ...rngCases, ...elboCases, ...dataCases, ...activationCases, ...reduceCases, ...optimCases, ...nonFiniteCases, ...modelCases, ...inferenceCases, ...iwCases, ...limitCases];
