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
from torch_vae import END, WebgpuVae, _stepwise, decode_tokens  # noqa: E402


class SyntaxMask:
    """The two SMILES rules as a mask for torch_vae.decode_tokens: ')' is ruled
    out while no branch is open, the end token while a branch or a ring label
    is open. Keeps each row's branch depth and the parity of each ring label."""

    def __init__(self, tokens, n):
        self.opening, self.closing = tokens.index('('), tokens.index(')')
        self.labels = [i for i, t in enumerate(tokens) if t.isdigit() or t.startswith('%')]
        self.depth = torch.zeros(n, dtype=torch.long)
        self.open_labels = torch.zeros(n, len(self.labels), dtype=torch.long)

    def apply(self, logits):
        logits = logits.double()
        logits[self.depth == 0, self.closing] = -float('inf')
        logits[(self.depth > 0) | (self.open_labels.sum(1) > 0), END] = -float('inf')
        return logits

    def update(self, tok):
        self.depth += (tok == self.opening).long() - (tok == self.closing).long()
        for k, label in enumerate(self.labels):
            self.open_labels[:, k] ^= (tok == label).long()


def sample(model, z, vocab, masked, generator):
    """Prior samples at temperature 1, all rows in one batch, with the syntax masks when `masked`."""
    mask = (lambda n: SyntaxMask(vocab['tokens'], n)) if masked else None
    return decode_tokens(model, z, temperature=1.0, generator=generator, batch=z.shape[0], mask=mask)


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
