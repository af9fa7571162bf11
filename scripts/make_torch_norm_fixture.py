#!/usr/bin/python3
"""Makes test/fixtures/torch-norm/expected.json: PyTorch's nn.GroupNorm and
nn.LayerNorm on small fixed inputs (float64), their outputs and the autograd
gradients of sum(y * dy) with respect to the input, the weight and the bias.
test/ref/norm.test.ts checks src/ref/norm.ts against these values.

Run once with Debian's PyTorch (apt-get install python3-torch):
    /usr/bin/python3 scripts/make_torch_norm_fixture.py
"""
import json
import os

import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
torch.manual_seed(13)


def case(name, module, shape, scale=1.0, offset=0.0):
    module = module.double()
    with torch.no_grad():
        # Weights and biases away from PyTorch's ones/zeros so that they matter.
        module.weight.copy_(torch.rand(module.weight.shape, dtype=torch.float64) * 2 - 0.5)
        module.bias.copy_(torch.rand(module.bias.shape, dtype=torch.float64) - 0.5)
    x = (torch.randn(shape, dtype=torch.float64) * scale + offset).requires_grad_(True)
    dy = torch.randn(shape, dtype=torch.float64)
    y = module(x)
    (y * dy).sum().backward()
    kind = 'group_norm' if isinstance(module, nn.GroupNorm) else 'layer_norm'
    out = {
        'name': name, 'kind': kind, 'shape': list(shape), 'eps': module.eps,
        'x': x.detach().flatten().tolist(), 'weight': module.weight.detach().flatten().tolist(),
        'bias': module.bias.detach().flatten().tolist(), 'dy': dy.flatten().tolist(),
        'y': y.detach().flatten().tolist(), 'dx': x.grad.flatten().tolist(),
        'dweight': module.weight.grad.flatten().tolist(), 'dbias': module.bias.grad.flatten().tolist(),
    }
    if kind == 'group_norm':
        out['groups'] = module.num_groups
    else:
        out['normalizedShape'] = list(module.normalized_shape)
    return out


cases = [
    case('GroupNorm(2, 4) on (2, 4, 3, 2)', nn.GroupNorm(2, 4), (2, 4, 3, 2)),
    case('GroupNorm(3, 6) on (2, 6)', nn.GroupNorm(3, 6), (2, 6)),
    case('GroupNorm(1, 3, eps=1e-3) on (3, 3, 5)', nn.GroupNorm(1, 3, eps=1e-3), (3, 3, 5)),
    case('GroupNorm(2, 4) at mean 1e4', nn.GroupNorm(2, 4), (2, 4, 5), offset=1e4),
    case('LayerNorm(5) on (3, 5)', nn.LayerNorm(5), (3, 5)),
    case('LayerNorm((2, 3, 2)) on (2, 2, 3, 2)', nn.LayerNorm((2, 3, 2)), (2, 2, 3, 2)),
    case('LayerNorm(3, eps=1e-2) on (2, 4, 3)', nn.LayerNorm(3, eps=1e-2), (2, 4, 3), scale=0.1),
]
path = os.path.join(ROOT, 'test', 'fixtures', 'torch-norm', 'expected.json')
with open(path, 'w') as f:
    json.dump({'torch': torch.__version__, 'cases': cases}, f)
    f.write('\n')
print(f'wrote {path} ({len(cases)} cases)')
