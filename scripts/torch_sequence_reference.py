#!/usr/bin/python3
"""The PyTorch reference of webgpu-vae's sequence presets (smiles, smiles-conv,
text, text-conv): the same model (built from the model definition by
src/export/torch_vae.py, so the parameter names are webgpu-vae's), the same
recipe (Adam, learning rate, batch, epochs, the KL weight schedule, free
bits, word dropout, teacher forcing) on the same split, evaluated as
`webgpu-vae eval` evaluates a run on sequences.

The data and the configuration come from a folder that
scripts/export-sequences.ts writes (config.json, vocab.json, train.npy,
test.npy, train-strings.json). Needs Debian's python3-torch, python3-numpy
and, for molecules, python3-rdkit.

    /usr/bin/python3 scripts/torch_sequence_reference.py train DIR [--epochs N] [--out model.safetensors] [--checkpoint FILE [--stop-after N]]
    /usr/bin/python3 scripts/torch_sequence_reference.py eval DIR --model model.safetensors|checkpoint [--codes] [--samples-out FILE]
    /usr/bin/python3 scripts/torch_sequence_reference.py check model.safetensors inputs.safetensors grads.safetensors

train: trains from PyTorch's initialization (or --init FILE), then evaluates
and prints a JSON line and a markdown row on stdout (progress on stderr);
writes the model as safetensors with webgpu-vae's names and the model
definition in the metadata, so `webgpu-vae eval` reads it (as a run folder's
model.safetensors next to the folder's config.json and vocab.json).

eval: the same evaluation of a model file (e.g. a webgpu-vae run's) or of
train's --checkpoint (an unfinished run); with --codes, for molecules, also
the valid fraction of decodes from a second prior draw (at the temperature
and greedy) and from z = mu of the test molecules, which tells a decoder
that samples badly from codes the decoder never saw (the prior's holes).

check: for test/node/torch-sequences.test.ts: loads a webgpu-vae checkpoint
with load_state_dict(strict=True); computes the loss and its gradients
(float64) on a batch of token ids with given latent noise, and greedy
decodes given codes (float32); prints JSON, writes the gradients.

The evaluation (as src/eval/sequences.ts and src/cli/sequence-outputs.ts):
- tokens per sequence: up to and including END; NLL = -ELBO with one
  posterior sample per sequence, per token = NLL / mean tokens per sequence;
- per-token accuracy: argmax of the logits with the true previous tokens and
  z = mu, over the positions up to END;
- exact match: greedy decoding from mu gives the sequence back up to END;
- KL per sequence; active units: dimensions whose mu varies over the test
  set with variance > 0.01;
- 1000 codes from the prior, decoded at temperature 1: valid (RDKit parses
  the string into a molecule of at least one atom), unique (distinct
  canonical SMILES among the valid), novel (unique ones whose canonical
  SMILES is not a training molecule's); the invalid ones by kind
  (unbalanced branches, an unclosed ring label, other), as
  src/eval/smiles-syntax.ts.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'src', 'export'))
import torch_vae  # noqa: E402
from torch_vae import END, PAD, WebgpuVae, decode_tokens, load_safetensors, one_hot_tokens, previous_token_ids, previous_tokens_input, save_safetensors  # noqa: E402

# src/export/train.py (the exported project's training script) imports the module as `model`.
sys.modules['model'] = torch_vae
from train import kl_weight, learning_rate, make_optimizer  # noqa: E402


def log(**kw):
    print(json.dumps(kw), file=sys.stderr, flush=True)


# --- data ------------------------------------------------------------------

class Export:
    """A folder written by scripts/export-sequences.ts."""

    def __init__(self, folder):
        self.dir = folder
        self.config = json.load(open(os.path.join(folder, 'config.json')))
        self.spec = self.config['model']
        self.vocab = json.load(open(os.path.join(folder, 'vocab.json')))
        self.train = torch.from_numpy(np.load(os.path.join(folder, 'train.npy')).astype(np.int64))
        self.test = torch.from_numpy(np.load(os.path.join(folder, 'test.npy')).astype(np.int64))
        self.train_strings = json.load(open(os.path.join(folder, 'train-strings.json')))
        T, V = self.spec['input']
        for name, ids in (('train', self.train), ('test', self.test)):
            if ids.dim() != 2 or ids.shape[1] != T or int(ids.max()) >= V or int(ids.min()) < 0:
                raise SystemExit(f'{folder}/{name}.npy: shape {tuple(ids.shape)}, ids {int(ids.min())}..{int(ids.max())}; expected (N, {T}) ids in 0..{V - 1}')
        if len(self.vocab['tokens']) != V:
            raise SystemExit(f'{folder}/vocab.json: {len(self.vocab["tokens"])} tokens; the model reads {V}')

    def strings(self, ids):
        """The strings of rows of ids (as Vocabulary.decode: up to END, PAD and START skipped, UNK as U+FFFD)."""
        toks = self.vocab['tokens']
        out = []
        for row in ids.tolist():
            s = []
            for t in row:
                if t == END:
                    break
                if t in (PAD, 1):
                    continue
                s.append('\ufffd' if t == 3 else toks[t])
            out.append(''.join(s))
        return out


def lengths_of(ids):
    """Tokens of each row up to and including END (the whole row when it has none)."""
    T = ids.shape[1]
    is_end = ids == END
    first = torch.where(is_end.any(1), is_end.float().argmax(1) + 1, torch.full((ids.shape[0],), T))
    return first


def inputs_of(spec, ids, dropout=0.0, generator=None, dtype=torch.float32):
    """x (one-hot, padding zero) and the extra inputs (the previous tokens) for token ids."""
    V = spec['input'][1]
    prev = previous_token_ids(ids, dropout, generator)
    return one_hot_tokens(ids, V, dtype), {previous_tokens_input(spec): one_hot_tokens(prev, V, dtype)}


# --- training --------------------------------------------------------------

def train(ex, args):
    cfg, spec = ex.config, ex.spec
    torch.manual_seed(args.seed)
    model = WebgpuVae(spec)
    if args.init:
        state, _ = load_safetensors(args.init)
        model.load_state_dict(state, strict=True)
    dropout = spec['extraInputs'][previous_tokens_input(spec)].get('dropout', 0.0)
    x_all = ex.train
    N, batch = len(x_all), cfg['batch']
    steps_per_epoch = math.ceil(N / batch)
    epochs = args.epochs or cfg['epochs']
    total = steps_per_epoch * epochs
    opt = make_optimizer(cfg, model.parameters())
    gen = torch.Generator().manual_seed(args.seed)
    step, epoch_seconds, first = 0, [], 0
    if args.checkpoint and os.path.exists(args.checkpoint):
        ck = torch.load(args.checkpoint)
        if ck['train'] != N or ck['epoch'] > epochs:
            raise SystemExit(f'{args.checkpoint}: a checkpoint at epoch {ck["epoch"]} of a run over {ck["train"]} strings; '
                             f'this run is {epochs} epochs over {N}: give another --checkpoint file')
        if ck['epochs'] != epochs:
            # As `webgpu-vae resume --epochs`: the schedules that look at the run's length (cosine, tail-cosine,
            # cyclical) follow the new one from here on.
            log(message=f'the checkpoint was of a {ck["epochs"]}-epoch run; continued as a run of {epochs} epochs')
        model.load_state_dict(ck['model'], strict=True)
        opt.load_state_dict(ck['optimizer'])
        gen.set_state(ck["generator"])
        step, epoch_seconds, first = ck['step'], ck['epochSeconds'], ck['epoch']
        log(resumed=args.checkpoint, epoch=first, step=step)
    last = min(epochs, first + args.stop_after) if args.stop_after > 0 else epochs
    for epoch in range(first, last):
        t0 = time.time()
        order = torch.randperm(N, generator=gen)
        sums = {'loss': 0.0, 'recon': 0.0, 'kl': 0.0}
        for s in range(steps_per_epoch):
            # The last batch is topped up from the epoch's start (as src/train/feed.ts).
            idx = order[(s * batch + torch.arange(batch)) % N]
            x, extras = inputs_of(spec, x_all[idx], dropout, gen)
            eps = torch.randn(batch, spec['latent'], generator=gen)
            for g in opt.param_groups:
                g['lr'] = learning_rate(cfg['lrSchedule'], cfg['lr'], step, total)
            beta = kl_weight(cfg['klSchedule'], cfg['beta'], step, total)
            objective, terms = model.loss(x, eps, beta, cfg['freeBits'], cfg['latentL2'], extras)
            opt.zero_grad()
            objective.backward()
            if cfg.get('clipNorm', 0) > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg['clipNorm'])
            opt.step()
            step += 1
            sums['recon'] += terms['recon'].item()
            sums['kl'] += terms['kl'].item()
        epoch_seconds.append(time.time() - t0)
        log(epoch=epoch + 1, step=step, beta=beta, recon=sums['recon'] / steps_per_epoch, kl=sums['kl'] / steps_per_epoch,
            seconds=round(epoch_seconds[-1], 2))
        if args.checkpoint:
            # Written beside and renamed over: an interrupted save leaves the previous epoch's checkpoint whole.
            torch.save({'epochs': epochs, 'train': N, 'epoch': epoch + 1, 'step': step, 'epochSeconds': epoch_seconds,
                        'model': model.state_dict(), 'optimizer': opt.state_dict(), 'generator': gen.get_state()},
                       args.checkpoint + '.tmp')
            os.replace(args.checkpoint + '.tmp', args.checkpoint)
    if last < epochs:
        return None, {'epochs': epochs, 'steps': step, 'stoppedAt': last}
    return model, {'epochs': epochs, 'steps': step, 'secondsPerEpoch': sum(epoch_seconds) / len(epoch_seconds)}


# --- evaluation ------------------------------------------------------------

def molecule_metrics(samples, training):
    """Validity, uniqueness and novelty by RDKit (src/eval/molecules.ts's definitions)."""
    from rdkit import Chem, RDLogger
    RDLogger.DisableLog('rdApp.*')

    def canonical(s):
        if not s or any(c.isspace() or c == '{' for c in s):
            return None
        m = Chem.MolFromSmiles(s)
        return Chem.MolToSmiles(m) if m is not None and m.GetNumAtoms() > 0 else None

    train = {c for c in map(canonical, training) if c is not None}
    written = [canonical(s) for s in samples]
    valid = [c for c in written if c is not None]
    unique = set(valid)
    novel = [c for c in unique if c not in train]
    kinds = {'branch': 0, 'ring': 0, 'other': 0}
    for s, c in zip(samples, written):
        if c is None:
            kinds[smiles_syntax_error(s) or 'other'] += 1
    frac = lambda a, b: a / b if b else 0.0
    return {'count': len(samples), 'valid': len(valid), 'validFraction': frac(len(valid), len(samples)),
            'unique': len(unique), 'uniqueFraction': frac(len(unique), len(valid)),
            'novel': len(novel), 'novelFraction': frac(len(novel), len(unique)), 'invalidKinds': kinds}


DIGITS = '0123456789'


def smiles_syntax_error(s):
    """'branch', 'ring' or None, as src/eval/smiles-syntax.ts: unbalanced branches first, then a ring label left open."""
    depth, open_labels, i = 0, set(), 0
    while i < len(s):
        c = s[i]
        if c == '[':
            end = s.find(']', i + 1)
            if end < 0:
                break
            i = end
        elif c == '(':
            depth += 1
        elif c == ')':
            depth -= 1
            if depth < 0:
                return 'branch'
        elif c == '%' and len(s[i + 1:i + 3]) == 2 and all(d in DIGITS for d in s[i + 1:i + 3]):
            open_labels ^= {s[i:i + 3]}
            i += 2
        elif c in DIGITS:
            open_labels ^= {c}
        i += 1
    if depth > 0:
        return 'branch'
    return 'ring' if open_labels else None


def evaluate(model, ex, samples=1000, temperature=1.0, seed=0, codes=False):
    spec = model.spec
    J = spec['latent']
    ids = ex.test
    n = len(ids)
    lengths = lengths_of(ids)
    gen = torch.Generator().manual_seed(seed)
    model.eval()
    mus, recon, kl, right = [], [], [], 0
    with torch.no_grad():
        for a in range(0, n, 256):
            b = ids[a:a + 256]
            x, extras = inputs_of(spec, b)
            # -ELBO with one posterior sample per sequence.
            eps = torch.randn(len(b), J, generator=gen)
            logits, mu, logvar, z = model.forward(x, eps, extras)
            _, terms = model.loss_from(x, logits, mu, logvar, z)
            recon.append(terms['recon_each'])
            kl.append(terms['kl_each'])
            mus.append(mu)
            # Teacher forcing at z = mu.
            pred = model.decode_raw(mu, extras).argmax(-1)
            mask = torch.arange(b.shape[1]).unsqueeze(0) < lengths[a:a + 256].unsqueeze(1)
            right += int(((pred == b) & mask).sum())
    mu = torch.cat(mus)
    recon, kl = torch.cat(recon), torch.cat(kl)
    tokens = int(lengths.sum())
    per_row = tokens / n
    greedy = decode_tokens(model, mu, 0.0)
    mask = torch.arange(ids.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
    exact = float(((greedy == ids) | ~mask).all(1).float().mean())
    variance = (mu.double() ** 2).mean(0) - mu.double().mean(0) ** 2
    nll = float((recon + kl).mean())
    test = {'count': n, 'tokensPerSequence': per_row, 'tokenAccuracy': right / tokens, 'exactMatch': exact,
            'nll': nll, 'recon': float(recon.mean()), 'kl': float(kl.mean()), 'activeUnits': int((variance > 0.01).sum()),
            'nllPerToken': nll / per_row, 'perplexity': math.exp(nll / per_row)}
    z = torch.randn(samples, J, generator=gen)
    strings = ex.strings(decode_tokens(model, z, temperature, gen))
    training = set(ex.train_strings)
    distinct = set(strings)
    smiles = ex.vocab['tokenizer'] == 'smiles'
    out = {'count': samples, 'temperature': temperature, 'unique': len(distinct), 'novel': len([s for s in distinct if s not in training]),
           'molecules': molecule_metrics(strings, ex.train_strings) if smiles else None}
    report = {'test': test, 'samples': out}
    if codes and smiles:
        # Where invalid samples come from: the same decoding from other codes. Valid fractions of
        # decodes at `temperature` and greedy, from prior codes and from z = mu of test molecules.
        valid = lambda zz, temp: molecule_metrics(ex.strings(decode_tokens(model, zz, temp, gen)), ex.train_strings)['validFraction']
        zp, zt = torch.randn(samples, J, generator=gen), mu[:samples]
        report['validByCode'] = {'temperature': temperature, 'prior': valid(zp, temperature), 'priorGreedy': valid(zp, 0.0),
                                 'testMu': valid(zt, temperature), 'testMuGreedy': valid(zt, 0.0)}
    return report, strings


def markdown_row(label, r, seconds):
    """A row of the README table: NLL/token, per-token and exact accuracy, KL, active units, validity, uniqueness, novelty, s/epoch."""
    t, m = r['test'], r['samples']['molecules']
    pct = lambda v: f'{100 * v:.1f}%'
    mol = [pct(m['validFraction']), pct(m['uniqueFraction']), pct(m['novelFraction'])] if m else ['–', '–', '–']
    cells = [label, f'{t["nllPerToken"]:.3f}', pct(t['tokenAccuracy']), pct(t['exactMatch']), f'{t["kl"]:.2f}', str(t['activeUnits']), *mol,
             '–' if seconds is None else f'{seconds:.1f}']
    return '| ' + ' | '.join(cells) + ' |'


def save_model(model, path, meta):
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    save_safetensors(path, state, {'format': 'pt', 'webgpu_vae_spec': json.dumps(model.spec), **meta})


# --- the check of the Node test ----------------------------------------------

def check(model_path, inputs_path, grads_path):
    tensors, meta = load_safetensors(inputs_path)
    spec = json.loads(meta['spec'])
    loss = json.loads(meta['loss'])
    state, _ = load_safetensors(model_path)
    model = WebgpuVae(spec)
    model.load_state_dict(state, strict=True)
    ids = tensors['input.ids'].long()
    m64 = WebgpuVae(spec).double()
    m64.load_state_dict({k: v.double() for k, v in state.items()}, strict=True)
    x, extras = inputs_of(spec, ids, dtype=torch.float64)
    objective, terms = m64.loss(x, tensors['input.eps'].double(), loss['beta'], loss['freeBits'], 0.0, extras)
    m64.zero_grad()
    objective.backward()
    save_safetensors(grads_path, {k: p.grad for k, p in m64.named_parameters()})
    kl_dim = (0.5 * (terms['mu'] ** 2 + torch.expm1(terms['logvar']) - terms['logvar'])).mean(0)
    decoded = decode_tokens(model, tensors['input.z'], 0.0)
    # Word dropout with p = 1 replaces every token it may replace: which those are is the definition.
    dropped = previous_token_ids(ids, 1.0)
    print(json.dumps({'loss': objective.item(), 'recon': terms['recon'].item(), 'kl': terms['kl'].item(),
                      'belowFreeBits': int((kl_dim < loss['freeBits']).sum()), 'decoded': decoded.tolist(), 'droppedAll': dropped.tolist(),
                      'parameters': sorted(state.keys())}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='command', required=True)
    t = sub.add_parser('train')
    t.add_argument('dir')
    t.add_argument('--epochs', type=int, default=0, help='default: the config\'s')
    t.add_argument('--out', default='', help='default: DIR/torch-model.safetensors')
    t.add_argument('--init', default='', help='start from these parameters (webgpu-vae names) instead of PyTorch\'s initialization')
    t.add_argument('--seed', type=int, default=1)
    t.add_argument('--checkpoint', default='', help='save the training state here after each epoch, and continue from it when it exists')
    t.add_argument('--stop-after', type=int, default=0, help='with --checkpoint: train this many epochs, save and exit (the same command continues)')
    t.add_argument('--samples', type=int, default=1000)
    t.add_argument('--threads', type=int, default=os.cpu_count() or 1)
    e = sub.add_parser('eval')
    e.add_argument('dir')
    e.add_argument('--model', required=True, help='safetensors with webgpu-vae names, or a --checkpoint file of train (an unfinished run)')
    e.add_argument('--samples', type=int, default=1000)
    e.add_argument('--samples-out', default='', help='write the prior samples there, one a line')
    e.add_argument('--codes', action='store_true', help='molecules: also the validity of decodes from other codes (a second prior draw, greedy; z = mu of test molecules)')
    e.add_argument('--threads', type=int, default=os.cpu_count() or 1)
    c = sub.add_parser('check')
    c.add_argument('model')
    c.add_argument('inputs')
    c.add_argument('grads')
    args = p.parse_args()
    if args.command == 'check':
        check(args.model, args.inputs, args.grads)
        return
    torch.set_num_threads(args.threads)
    ex = Export(args.dir)
    label = f'PyTorch {torch.__version__.split("+")[0]} ({args.threads} thread{"" if args.threads == 1 else "s"})'
    if args.command == 'train':
        if args.stop_after and not args.checkpoint:
            raise SystemExit('--stop-after N needs --checkpoint FILE, where the training state is kept')
        model, info = train(ex, args)
        if model is None:
            log(stopped=info['stoppedAt'], of=info['epochs'], checkpoint=args.checkpoint, next='run the same command to continue')
            return
        out = args.out or os.path.join(args.dir, 'torch-model.safetensors')
        save_model(model, out, {'step': str(info['steps']), 'trained_by': label})
    else:
        model = WebgpuVae(ex.spec)
        info, out = {'secondsPerEpoch': None}, args.model
        if args.model.endswith('.safetensors'):
            state, _ = load_safetensors(args.model)
        else:
            ck = torch.load(args.model)
            state = ck['model']
            info.update(epochs=ck['epoch'], steps=ck['step'], of=ck['epochs'])
        model.load_state_dict(state, strict=True)
    t0 = time.time()
    report, strings = evaluate(model, ex, args.samples, codes=args.command == 'eval' and args.codes)
    if args.command == 'eval' and args.samples_out:
        with open(args.samples_out, 'w') as f:
            f.write(''.join(s + '\n' for s in strings))
    print(json.dumps({'by': label, 'model': out, **info, 'evalSeconds': round(time.time() - t0, 1), **report}), flush=True)
    print(markdown_row(label, report, info['secondsPerEpoch']), flush=True)


if __name__ == '__main__':
    main()
