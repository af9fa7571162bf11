/** Every GPU test case, run the same way in Node and in headless Chromium. */
import { actSumCases } from './act-sum.ts';
import { activationCases } from './activation.ts';
import { addCases } from './add.ts';
import { concatCases } from './concat.ts';
import { convCases } from './conv.ts';
import { conv1dCases } from './conv1d.ts';
import { dataCases } from './data.ts';
import { elboCases } from './elbo.ts';
import { embeddingCases } from './embedding.ts';
import { gruCases } from './gru.ts';
import { inferenceCases } from './inference.ts';
import { iwCases } from './iw.ts';
import { iwaeCases } from './iwae.ts';
import { layoutCases } from './layout.ts';
import { limitCases } from './limits.ts';
import { matmulCases, matmulVariantCases } from './matmul.ts';
import { modelCases } from './model.ts';
import { nonFiniteCases } from './nonfinite.ts';
import { normCases } from './norm.ts';
import { optimCases } from './optim.ts';
import { reduceCases } from './reduce.ts';
import { rngCases } from './rng.ts';
import { shaderCases } from './shaders.ts';
import { tokenCases } from './tokens.ts';
import { upsampleCases } from './upsample.ts';
import type { GpuCase } from './types.ts';

export const ALL_CASES: readonly GpuCase[] = [...shaderCases, ...matmulCases, ...matmulVariantCases, ...convCases, ...conv1dCases, ...rngCases, ...elboCases, ...dataCases, ...activationCases, ...actSumCases, ...addCases, ...normCases, ...upsampleCases, ...concatCases, ...layoutCases, ...embeddingCases, ...gruCases, ...reduceCases, ...optimCases, ...nonFiniteCases, ...modelCases, ...inferenceCases, ...iwCases, ...iwaeCases, ...tokenCases, ...limitCases];
