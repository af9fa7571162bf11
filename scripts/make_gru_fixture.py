#!/usr/bin/python3
"""Makes test/fixtures/gru/gru.json: PyTorch's nn.GRU (one layer,
batch_first=True) on fixed weights, inputs and initial states, with its
outputs and every gradient of a fixed scalar loss, in float64.

    loss = sum(c * hs)      (c fixed, so dloss/dhs = c, stored as "dhs")

For each case: the sizes; the state_dict (weight_ih_l0, weight_hh_l0,
bias_ih_l0, bias_hh_l0, drawn U(-1/sqrt(H), 1/sqrt(H)) as nn.GRU does, from a
seeded generator); x (B, T, I); h0 (B, H); c; and PyTorch's hs (B, T, H),
h_n (B, H) and the gradients of the loss with respect to x, h0 and the four
parameters. Every input is a float32 value (rounded before the float64 run),
so the GPU sees the same numbers.

Run once with Debian's PyTorch (apt-get install python3-torch):
    /usr/bin/python3 scripts/make_gru_fixture.py
test/ref/gru.test.ts and test/cases/gru.ts read the file; PyTorch is not
needed to run the tests.
"""
import json
import os

import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'gru', 'gru.json')

# (batch, steps, input, hidden, seed): odd sizes, a long sequence, and inputs
# scaled up so some gates saturate.
CASES = [
    (3, 5, 4, 6, 1, 1.0),
    (2, 37, 3, 9, 2, 1.0),
    (4, 7, 5, 3, 3, 4.0),
]


def f32(t):
    return t.float().double()


def case(batch, steps, inp, hidden, seed, scale):
    g = torch.Generator().manual_seed(seed)
    gru = nn.GRU(inp, hidden, batch_first=True).double()
    bound = 1 / hidden ** 0.5
    with torch.no_grad():
        for p in gru.parameters():
            p.copy_(f32((torch.rand(p.shape, generator=g, dtype=torch.float64) * 2 - 1) * bound))
    x = f32((torch.rand(batch, steps, inp, generator=g, dtype=torch.float64) * 2 - 1) * scale).requires_grad_()
    h0 = f32(torch.rand(batch, hidden, generator=g, dtype=torch.float64) * 2 - 1).requires_grad_()
    c = f32(torch.rand(batch, steps, hidden, generator=g, dtype=torch.float64) * 2 - 1)
    hs, hn = gru(x, h0.unsqueeze(0))
    loss = (c * hs).sum()
    loss.backward()
    flat = lambda t: t.detach().reshape(-1).tolist()
    sd = dict(gru.named_parameters())
    return {
        'batch': batch, 'steps': steps, 'input': inp, 'hidden': hidden,
        'loss': loss.item(),
        'tensors': {
            **{k: flat(v) for k, v in sd.items()},
            'x': flat(x), 'h0': flat(h0), 'dhs': flat(c),
            'hs': flat(hs), 'h_n': flat(hn[0]),
            'dx': flat(x.grad), 'dh0': flat(h0.grad),
            **{'d' + k: flat(v.grad) for k, v in sd.items()},
        },
    }


def main():
    cases = [case(*c) for c in CASES]
    doc = {
        'made_by': 'scripts/make_gru_fixture.py with PyTorch ' + torch.__version__ + ': nn.GRU(I, H, batch_first=True).double(), loss = sum(dhs * hs)',
        'cases': cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {OUT}: {len(cases)} cases')


if __name__ == '__main__':
    main()
