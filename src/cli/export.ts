/**
 * `webgpu-vae export <run> --pytorch <dir>`: a runnable PyTorch project for a
 * run's model and recipe: model.py (the nn.Module built from the model
 * definition, with webgpu-vae's parameter names), train.py (the same loss,
 * optimizer and schedules; one process or DistributedDataParallel), the
 * run's config.json and model.safetensors, the data as .npy, and a README.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { encodeNpy } from '../data/npy.ts';
import { datasetRows } from '../eval/inference.ts';
import { PYTHON_SOURCES } from '../export/sources.ts';
import { writeFileAtomic } from '../io/files.ts';
import type { LayerSpec, ModelSpec } from '../model/spec.ts';
import type { Dataset } from '../data/dataset.ts';
import { flag, helpText, parse, positionals, str, UsageError, type OptionSpec } from './options.ts';
import { loadSets, readRunConfig } from './train.ts';

/** The layer types src/export/torch_vae.py builds. */
export const TORCH_LAYER_TYPES: readonly string[] = [
  'dense', 'conv2d', 'conv_transpose2d', 'conv1d', 'activation', 'flatten', 'reshape', 'add', 'concat', 'upsample_nearest2d', 'group_norm', 'layer_norm',
  'embedding', 'gru', 'transpose', 'repeat',
];

const EXPORT_OPTIONS: OptionSpec = {
  pytorch: { type: 'string', help: 'folder to write the PyTorch project into (created; must be empty)' },
};

/** Refuses a model with a layer the PyTorch module cannot build, naming the layer. */
export function checkExportable(spec: ModelSpec): void {
  const sections: [string, readonly LayerSpec[]][] = [['encoder', spec.encoder], ['decoder', spec.decoder]];
  for (const [section, layers] of sections) {
    layers.forEach((l, i) => {
      if (!TORCH_LAYER_TYPES.includes(l.type)) {
        throw new UsageError(`export --pytorch: ${section}[${i}]${l.name ? ` ('${l.name}')` : ''} is a ${l.type} layer, which the PyTorch export does not build (it builds: ${TORCH_LAYER_TYPES.join(', ')})`);
      }
    });
  }
}

function writeSplit(dir: string, name: string, ds: Dataset): void {
  const rows = datasetRows(ds);
  writeFileAtomic(join(dir, `${name}.npy`), encodeNpy('<f4', [ds.count, rows.length / ds.count], rows));
  if (ds.labels) writeFileAtomic(join(dir, `${name}-labels.npy`), encodeNpy('<i4', [ds.count], ds.labels));
}

function readme(run: string, modelName: string, train: Dataset, test: Dataset): string {
  return `# ${modelName} in PyTorch

Exported by \`webgpu-vae export ${run} --pytorch <this folder>\`: the run's model
(\`model.py\` builds it from \`config.json\`, with webgpu-vae's parameter names),
its training recipe (\`train.py\`), its parameters (\`model.safetensors\`) and its
data (\`data/\`: ${train.count} training and ${test.count} test samples as float32 .npy).
It needs PyTorch and NumPy only.

\`\`\`sh
python3 train.py                                  # train as the run would, one process
python3 train.py --nproc 4                        # 4 processes, DistributedDataParallel (gloo on CPUs, NCCL on GPUs)
torchrun --nproc_per_node 4 train.py              # the same, ranks from torchrun
python3 train.py --init model.safetensors --steps 1000 --out trained.safetensors   # continue the run
python3 train.py --eval trained.safetensors       # test-set ELBO terms
\`\`\`

The batch in \`config.json\` is the global batch (each of N processes takes batch / N;
free bits then apply to each process's batch). \`trained.safetensors\` holds the
model definition in its metadata: \`webgpu-vae eval\`, \`sample\` and the studio's
Load read it (copy it over a run folder's \`model.safetensors\` to use the CLI).
`;
}

export async function exportCommand(argv: readonly string[]): Promise<number> {
  const p = parse('export', EXPORT_OPTIONS, argv);
  if (flag(p, 'help')) {
    console.log(helpText('export', '<run> --pytorch <dir>', 'Writes a runnable PyTorch project (model, training script with DistributedDataParallel, data) for a run.', EXPORT_OPTIONS));
    return 0;
  }
  const [run] = positionals('export', p, ['run']);
  if (p.values.pytorch === undefined) throw new UsageError('export: give --pytorch <dir>, the folder to write the project into');
  const out = str(p, 'pytorch', '');
  const config = readRunConfig(run!);
  checkExportable(config.model);
  if (existsSync(out) && readdirSync(out).length > 0) throw new UsageError(`export --pytorch ${out}: the folder is not empty; choose a new one`);
  const sets = await loadSets(config.dataset, config.model.likelihood.type === 'bernoulli', config.trainClasses);
  mkdirSync(join(out, 'data'), { recursive: true });
  writeFileAtomic(join(out, 'model.py'), PYTHON_SOURCES['torch_vae.py']!);
  writeFileAtomic(join(out, 'train.py'), PYTHON_SOURCES['train.py']!);
  writeFileAtomic(join(out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  copyFileSync(join(run!, 'model.safetensors'), join(out, 'model.safetensors'));
  writeSplit(join(out, 'data'), 'train', sets.train);
  writeSplit(join(out, 'data'), 'test', sets.test);
  writeFileAtomic(join(out, 'README.md'), readme(run!, config.modelName, sets.train, sets.test));
  console.log(`wrote ${out}: model.py, train.py, config.json, model.safetensors, data/ (${sets.train.count} + ${sets.test.count} samples), README.md`);
  return 0;
}
