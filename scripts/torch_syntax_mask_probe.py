#!/usr/bin/python3
"""A probe of syntax-masked sampling for SMILES decoders, on a checkpoint of
scripts/torch_sequence_reference.py (PyTorch). Not webgpu-vae's decoder: it
measures how many of a model's invalid prior samples come from counting
(src/eval/smiles-syntax.ts) by sampling the same model at temperature 1 with
two tokens masked out where they would break the syntax: ')' while no
branch is open, and the end token while a branch or a ring label is open.
Every training molecule obeys both rules, so a likelihood with the same
masks would give the training data the same support.

    /usr/bin/python3 scripts/torch_syntax_mask_probe.py DIR CHECKPOINT [--samples 1000] [--seed 0]

Prints one JSON line: the unmasked and the masked sampling's molecule
metrics (validity, uniqueness, novelty, invalid samples by kind) from the
same 1,000 prior codes.
"""
import argparse
import json
import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'scripts'))
sys.path.insert(0, os.path.join(ROOT, 'src', 'export'))
import torch_sequence_reference as ref  # noqa: E402
from torch_vae import END, PAD, START, WebgpuVae, _decoder_step, _stepwise  # noqa: E402


def sample(model, z, vocab, masked, generator):
    """Prior samples at temperature 1 (as torch_vae.decode_tokens), with the syntax masks when `masked`."""
    tokens = vocab['tokens']
    T, V = model.spec['input']
    n = z.shape[0]
    opening, closing = tokens.index('('), tokens.index(')')
    labels = [i for i, t in enumerate(tokens) if t.isdigit() or t.startswith('%')]
    out = torch.full((n, T), PAD, dtype=torch.long)
    rows = torch.arange(n)
    prev = torch.zeros(n, T, V, dtype=z.dtype)
    prev[:, 0, START] = 1
    done = torch.zeros(n, dtype=torch.bool)
    depth = torch.zeros(n, dtype=torch.long)
    open_labels = torch.zeros(n, len(labels), dtype=torch.long)
    states = {}
    with torch.no_grad():
        for t in range(T):
            logits = _decoder_step(model, z, prev[:, t:t + 1], states).double()
            if masked:
                logits[depth == 0, closing] = -float('inf')
                logits[(depth > 0) | (open_labels.sum(1) > 0), END] = -float('inf')
            tok = torch.multinomial(torch.softmax(logits, -1), 1, generator=generator).squeeze(1)
            tok = torch.where(done, torch.full_like(tok, PAD), tok)
            out[rows, t] = tok
            depth += (tok == opening).long() - (tok == closing).long()
            for k, label in enumerate(labels):
                open_labels[:, k] ^= (tok == label).long()
            if t + 1 < T:
                live = tok != PAD
                prev[rows[live], t + 1, tok[live]] = 1
            done |= tok == END
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('dir')
    p.add_argument('checkpoint')
    p.add_argument('--samples', type=int, default=1000)
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(1)
    ex = ref.Export(args.dir)
    if ex.vocab['tokenizer'] != 'smiles' or not _stepwise(ex.spec):
        raise SystemExit(f'{args.dir}: a SMILES model with a GRU decoder is needed')
    model = WebgpuVae(ex.spec)
    ck = torch.load(args.checkpoint)
    model.load_state_dict(ck['model'], strict=True)
    model.eval()
    z = torch.randn(args.samples, ex.spec['latent'], generator=torch.Generator().manual_seed(args.seed))
    report = {'dir': args.dir, 'epoch': ck['epoch'], 'samples': args.samples, 'temperature': 1.0}
    for name, masked in (('unmasked', False), ('masked', True)):
        strings = ex.strings(sample(model, z, ex.vocab, masked, torch.Generator().manual_seed(args.seed + 1)))
        report[name] = ref.molecule_metrics(strings, ex.train_strings)
    print(json.dumps(report), flush=True)


if __name__ == '__main__':
    main()
