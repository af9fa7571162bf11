/** Every shader module compiles on the device with no errors (messages carry line, column and the WGSL line). */
import { compileErrors } from '../../src/gpu/pipelines.ts';
import { shaderNames } from '../../src/shaders/library.ts';
import type { GpuCase } from './types.ts';

export const shaderCases: GpuCase[] = [
  {
    name: 'shaders: every module compiles without errors',
    async run(device) {
      const errors: string[] = [];
      for (const name of shaderNames()) errors.push(...(await compileErrors(device, name)));
      if (errors.length) throw new Error(errors.join('\n'));
    },
  },
];
