/**
 * Molecules checked with RDKit's MinimalLib (WebAssembly; see rdkit-load.ts
 * for where it is loaded from), the same in Node and in a page: validity,
 * canonical SMILES, structure drawings (SVG), descriptors, and the standard
 * metrics of generated molecules (Gómez-Bombarelli et al. 2018; MOSES):
 *
 * - valid: RDKit parses and sanitizes the string as SMILES into a molecule
 *   of at least one atom. The empty string is invalid, and so is a string
 *   holding whitespace or `{` (MinimalLib would read what follows a space as
 *   a name, and a molblock or JSON as a molecule: none of them is a SMILES).
 * - unique: distinct canonical SMILES among the valid; uniqueFraction of the valid.
 * - novel: unique canonical SMILES absent from the training set (canonicalized
 *   the same way); novelFraction of the unique.
 *
 * Every molecule made in the WASM heap is deleted before the call returns
 * (one helper, `withMol`, pairs each `get_mol` with its `delete`);
 * `liveMolecules()` counts the ones not yet deleted (0 between calls) and
 * `memoryBytes()` gives the size of the instance's memory.
 */
import { loadRdkitModule, type LoadedRdkit, type RdkitMol as Mol, type RdkitOptions } from './rdkit-load.ts';
import { invalidKinds, type InvalidKinds } from './smiles-syntax.ts';

export { RDKIT_WASM_PATH, type RdkitOptions } from './rdkit-load.ts';

/** Metrics of generated SMILES against a training set. */
export interface MoleculeMetrics {
  /** Samples given. */
  readonly count: number;
  /** Samples that are valid molecules. */
  readonly valid: number;
  /** valid / count (0 for no samples). */
  readonly validFraction: number;
  /** Distinct canonical SMILES among the valid samples. */
  readonly unique: number;
  /** unique / valid (0 when none is valid). */
  readonly uniqueFraction: number;
  /** Unique canonical SMILES not in the training set. */
  readonly novel: number;
  /** novel / unique (0 when none is unique). */
  readonly novelFraction: number;
  /** Up to 5 invalid samples, in order of appearance (distinct). */
  readonly invalidExamples: readonly string[];
  /** The invalid samples by what is wrong: unbalanced branches, an unclosed ring, or other (src/eval/smiles-syntax.ts). */
  readonly invalidKinds: InvalidKinds;
}

/** Descriptors of one molecule, from RDKit's `get_descriptors()`. */
export interface MoleculeDescriptors {
  /** Ring count (NumRings). */
  readonly rings: number;
  readonly aromaticRings: number;
  /** Average molecular weight, g/mol (amw). */
  readonly molWeight: number;
  /** Monoisotopic mass (exactmw). */
  readonly exactMolWeight: number;
  readonly heavyAtoms: number;
  /** Crippen logP (CrippenClogP). */
  readonly logP: number;
  /** Topological polar surface area (tpsa). */
  readonly tpsa: number;
  readonly hBondDonors: number;
  readonly hBondAcceptors: number;
  readonly rotatableBonds: number;
  /** Every descriptor RDKit gave, by its own name (NumRings, exactmw, amw, CrippenClogP, ...). */
  readonly all: Readonly<Record<string, number>>;
}

/** Canonical SMILES of a training set, made once and reused across metric calls. */
export interface TrainingSet {
  readonly canonical: ReadonlySet<string>;
  /** Entries given, and how many of them were invalid (left out). */
  readonly count: number;
  readonly invalid: number;
}

export interface SvgSize {
  readonly width?: number;
  readonly height?: number;
}

/** MinimalLib loaded: every call is synchronous. */
export interface Chem {
  /** RDKit's version (e.g. 2026.09.1). */
  readonly version: string;
  isValid(smiles: string): boolean;
  /** RDKit's canonical (isomeric) SMILES, or null when invalid. */
  canonicalSmiles(smiles: string): string | null;
  /** The molecule's atom count (hydrogens not written as atoms excluded), or null when invalid. */
  atomCount(smiles: string): number | null;
  /** A non-canonical SMILES of the molecule starting from atom `root` (0 ≤ root < atomCount), or null when invalid. */
  rootedSmiles(smiles: string, root: number): string | null;
  /** The structure drawn as an `<svg>` element (no XML declaration), or null when invalid. Default 250×200. */
  moleculeSvg(smiles: string, size?: SvgSize): string | null;
  /** Descriptors, or null when invalid. */
  descriptors(smiles: string): MoleculeDescriptors | null;
  trainingSet(smiles: Iterable<string>): TrainingSet;
  moleculeMetrics(samples: readonly string[], training: Iterable<string> | TrainingSet): MoleculeMetrics;
  /** Molecules made and not yet deleted (0 between calls). */
  liveMolecules(): number;
  /** Bytes of the WASM instance's linear memory. */
  memoryBytes(): number;
}

const INVALID_EXAMPLES = 5;

function checkString(where: string, s: unknown): asserts s is string {
  if (typeof s !== 'string') throw new Error(`${where} is ${s === null ? 'null' : typeof s}; expected a SMILES string`);
}

function makeChem({ module: rd, memory }: LoadedRdkit): Chem {
  /** Molecules made and not yet seen deleted. */
  const live = new Set<Mol>();

  /** Runs fn on the parsed molecule and deletes it; null when the string is no valid molecule. */
  function withMol<T>(smiles: string, fn: (m: Mol) => T): T | null {
    if (smiles.length === 0 || /[\s{]/.test(smiles)) return null;
    const m = rd.get_mol(smiles);
    if (!m) return null;
    live.add(m);
    try {
      return m.is_valid() && m.get_num_atoms() > 0 ? fn(m) : null;
    } finally {
      m.delete();
      if (m.isDeleted()) live.delete(m);
    }
  }

  const canonicalSmiles = (s: string) => {
    checkString('canonicalSmiles: the argument', s);
    return withMol(s, (m) => m.get_smiles());
  };

  function trainingSet(smiles: Iterable<string>): TrainingSet {
    if (smiles == null || typeof (smiles as Iterable<string>)[Symbol.iterator] !== 'function') {
      throw new Error(`trainingSet: the training set is ${smiles === null ? 'null' : typeof smiles}; expected an iterable of SMILES strings`);
    }
    const canonical = new Set<string>();
    let count = 0, invalid = 0;
    for (const s of smiles) {
      checkString(`trainingSet: entry ${count}`, s);
      count++;
      const c = withMol(s, (m) => m.get_smiles());
      if (c === null) invalid++;
      else canonical.add(c);
    }
    return { canonical, count, invalid };
  }

  const isTrainingSet = (t: unknown): t is TrainingSet => typeof t === 'object' && t !== null && (t as TrainingSet).canonical instanceof Set;

  return {
    version: rd.version(),
    isValid: (s) => {
      checkString('isValid: the argument', s);
      return withMol(s, () => true) ?? false;
    },
    canonicalSmiles,
    atomCount(s) {
      checkString('atomCount: the argument', s);
      return withMol(s, (m) => m.get_num_atoms());
    },
    rootedSmiles(s, root) {
      checkString('rootedSmiles: the SMILES', s);
      return withMol(s, (m) => {
        const atoms = m.get_num_atoms();
        if (!Number.isInteger(root) || root < 0 || root >= atoms) throw new Error(`rootedSmiles: root atom ${root} of ${s}; expected a whole number from 0 to ${atoms - 1}`);
        return m.get_smiles(JSON.stringify({ canonical: false, rootedAtAtom: root }));
      });
    },
    moleculeSvg(s, size = {}) {
      checkString('moleculeSvg: the SMILES', s);
      const { width = 250, height = 200 } = size;
      for (const [k, v] of [['width', width], ['height', height]] as const) {
        if (!Number.isInteger(v) || v < 16 || v > 4096) throw new Error(`moleculeSvg: ${k} ${v}; expected a whole number of pixels in 16..4096`);
      }
      return withMol(s, (m) => m.get_svg(width, height).replace(/^<\?xml[^>]*>\s*/, ''));
    },
    descriptors(s) {
      checkString('descriptors: the SMILES', s);
      return withMol(s, (m) => {
        const all = JSON.parse(m.get_descriptors()) as Record<string, number>;
        const get = (k: string) => {
          const v = all[k];
          if (typeof v !== 'number') throw new Error(`descriptors: RDKit ${rd.version()} gave no ${k} for ${s}`);
          return v;
        };
        return {
          rings: get('NumRings'), aromaticRings: get('NumAromaticRings'), molWeight: get('amw'), exactMolWeight: get('exactmw'),
          heavyAtoms: get('NumHeavyAtoms'), logP: get('CrippenClogP'), tpsa: get('tpsa'),
          hBondDonors: get('NumHBD'), hBondAcceptors: get('NumHBA'), rotatableBonds: get('NumRotatableBonds'), all,
        };
      });
    },
    trainingSet,
    moleculeMetrics(samples, training) {
      if (!Array.isArray(samples)) throw new Error(`moleculeMetrics: samples is ${samples === null ? 'null' : typeof samples}; expected an array of SMILES strings`);
      const train = isTrainingSet(training) ? training : trainingSet(training);
      const unique = new Set<string>();
      const invalidExamples: string[] = [];
      const invalid: string[] = [];
      let valid = 0;
      samples.forEach((s, i) => {
        checkString(`moleculeMetrics: samples[${i}]`, s);
        const c = withMol(s, (m) => m.get_smiles());
        if (c === null) {
          invalid.push(s);
          if (invalidExamples.length < INVALID_EXAMPLES && !invalidExamples.includes(s)) invalidExamples.push(s);
          return;
        }
        valid++;
        unique.add(c);
      });
      let novel = 0;
      for (const c of unique) if (!train.canonical.has(c)) novel++;
      const frac = (a: number, b: number) => (b > 0 ? a / b : 0);
      return {
        count: samples.length, valid, validFraction: frac(valid, samples.length),
        unique: unique.size, uniqueFraction: frac(unique.size, valid),
        novel, novelFraction: frac(novel, unique.size), invalidExamples, invalidKinds: invalidKinds(invalid),
      };
    },
    liveMolecules: () => live.size,
    memoryBytes: () => memory.buffer.byteLength,
  };
}

const chems = new WeakMap<LoadedRdkit, Chem>();

/** Loads MinimalLib (once per WASM location; see RdkitOptions) and gives its synchronous API. */
export async function loadRdkit(opts: RdkitOptions = {}): Promise<Chem> {
  const loaded = await loadRdkitModule(opts);
  let c = chems.get(loaded);
  if (!c) chems.set(loaded, (c = makeChem(loaded)));
  return c;
}

/** Validity, uniqueness and novelty of generated SMILES (loads MinimalLib on first use). */
export async function moleculeMetrics(samples: readonly string[], training: Iterable<string> | TrainingSet, opts?: RdkitOptions): Promise<MoleculeMetrics> {
  return (await loadRdkit(opts)).moleculeMetrics(samples, training);
}

/** RDKit's canonical SMILES, or null when the string is no valid molecule. */
export async function canonicalSmiles(smiles: string, opts?: RdkitOptions): Promise<string | null> {
  return (await loadRdkit(opts)).canonicalSmiles(smiles);
}

/** The structure as an `<svg>` element, or null when invalid. */
export async function moleculeSvg(smiles: string, size?: SvgSize, opts?: RdkitOptions): Promise<string | null> {
  return (await loadRdkit(opts)).moleculeSvg(smiles, size);
}

/** RDKit's descriptors (rings, molecular weight, ...), or null when invalid. */
export async function descriptors(smiles: string, opts?: RdkitOptions): Promise<MoleculeDescriptors | null> {
  return (await loadRdkit(opts)).descriptors(smiles);
}
