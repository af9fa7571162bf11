/**
 * Fashion-MNIST (Zalando; 60,000 training and 10,000 test images of 28×28
 * grayscale clothing, 10 classes) from the IDX files of Debian's package
 * `dataset-fashion-mnist`, which installs them in
 * /usr/share/datasets/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { DatasetError, type Dataset } from './dataset.ts';
import { DEFAULT_MAX_BYTES, idxToDataset, readIdxFile } from './idx.ts';

/** Where Debian's `dataset-fashion-mnist` package puts the files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Class names, index = label. */
export const FASHION_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

/** The path of `base` in `dir`: `base.gz` if present, else the uncompressed `base`, else null. */
async function findFile(dir: string, base: string): Promise<string | null> {
  for (const name of [`${base}.gz`, base]) {
    const path = join(dir, name);
    try {
      await access(path);
      return path;
    } catch {
      // try the next name
    }
  }
  return null;
}

async function loadSplit(dir: string, prefix: 'train' | 't10k', name: string, maxBytes: number): Promise<Dataset> {
  const imagesBase = `${prefix}-images-idx3-ubyte`;
  const labelsBase = `${prefix}-labels-idx1-ubyte`;
  const imagesPath = await findFile(dir, imagesBase);
  const labelsPath = await findFile(dir, labelsBase);
  if (imagesPath === null || labelsPath === null) {
    const missing = imagesPath === null ? imagesBase : labelsBase;
    throw new DatasetError(
      `fashion-mnist: ${join(dir, `${missing}.gz`)} is missing; install the dataset with ` +
        `\`apt-get install dataset-fashion-mnist\` (as root), which puts the files in ${FASHION_MNIST_DIR}`,
    );
  }
  const images = await readIdxFile(imagesPath, maxBytes);
  if (images.dtype !== 'u8' || images.shape.length !== 3) {
    throw new DatasetError(`${imagesPath}: ${images.dtype} array of dimensions [${images.shape.join(', ')}]; expected u8 images (N, H, W)`);
  }
  const labels = await readIdxFile(labelsPath, maxBytes);
  return idxToDataset(images, labels, { name, imagesSource: imagesPath, labelsSource: labelsPath, classes: FASHION_CLASSES });
}

/**
 * Loads Fashion-MNIST from `dir` (default: Debian's install folder). Each file
 * may be gzip-compressed (`.gz`) or not. Images stay bytes (v/255), shape
 * [1, 28, 28]; labels are 0..9 with FASHION_CLASSES as names. A missing file
 * gives an error saying how to install the package.
 */
export async function loadFashionMnist(
  dir: string = FASHION_MNIST_DIR,
  opts: { maxBytes?: number } = {},
): Promise<{ train: Dataset; test: Dataset }> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const train = await loadSplit(dir, 'train', 'fashion-mnist-train', maxBytes);
  const test = await loadSplit(dir, 't10k', 'fashion-mnist-test', maxBytes);
  const a = train.shape.join('×');
  const b = test.shape.join('×');
  if (a !== b) throw new DatasetError(`fashion-mnist: training images are ${a} and test images ${b}; expected the same size`);
  return { train, test };
}
