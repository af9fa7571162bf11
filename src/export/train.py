"""Trains a webgpu-vae model in PyTorch, on one process or many
(DistributedDataParallel): the model of config.json (model.py builds it with
webgpu-vae's parameter names), the same loss (beta and its schedule, free
bits, the latent L2 penalty; or the objective of config.json: iwae:K, the
importance-weighted bound of K samples per input, or iwae-dreg:K, with the
DReG encoder gradient), the same optimizer and learning-rate schedule,
the data exported as .npy. Writes model.safetensors with webgpu-vae's names
and the model definition in its metadata, so `webgpu-vae eval`, `sample` and
the studio read it.

    python3 train.py                         # one process
    python3 train.py --nproc 4               # 4 processes on this machine (gloo on CPUs, NCCL on GPUs)
    torchrun --nproc_per_node 4 train.py     # ranks from torchrun's environment variables
    python3 train.py --init model.safetensors --steps 500 --out trained.safetensors
    python3 train.py --eval trained.safetensors

The batch of config.json is the global batch: each of N processes takes batch / N.
"""
import argparse
import json
import math
import os
import socket
import time

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from model import WebgpuVae, load_safetensors, save_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))


# --- schedules (as webgpu-vae's src/train/schedules.ts) ---------------------

def kl_weight(text, beta, step, total):
    kind, *args = text.strip().split(':')
    if kind == 'constant':
        return beta
    if kind == 'linear':
        return beta * min(1.0, step / int(args[0]))
    if kind == 'sigmoid':
        return beta / (1 + math.exp(-12 * (step / int(args[0]) - 0.5)))
    if kind == 'cyclical':
        cycles, ratio = int(args[0]), float(args[1]) if len(args) > 1 else 0.5
        period = max(1.0, total / cycles)
        return beta * min(1.0, ((step % period) / period) / ratio)
    raise SystemExit(f'unknown KL schedule {text!r}')


def cosine_from(lr, min_factor, t):
    """A cosine from lr (t = 0) to lr * min_factor (t = 1)."""
    return lr * (min_factor + (1 - min_factor) * 0.5 * (1 + math.cos(math.pi * t)))


def learning_rate(text, lr, step, total):
    kind, *args = text.strip().split(':')
    if kind == 'constant':
        return lr
    if kind == 'cosine':
        warmup = int(args[0]) if args else 0
        min_factor = float(args[1]) if len(args) > 1 else 0.0
        if step < warmup:
            return lr * (step + 1) / warmup
        span = max(1, total - warmup - 1)
        return cosine_from(lr, min_factor, min(1.0, (step - warmup) / span))
    if kind == 'step':
        return lr * float(args[1]) ** (step // int(args[0]))
    if kind == 'tail-cosine':
        span = min(int(args[0]), total)  # a decay longer than the run spans the whole run
        min_factor = float(args[1]) if len(args) > 1 else 0.0
        start = total - span
        if step < start:
            return lr
        return cosine_from(lr, min_factor, min(1.0, (step - start) / max(1, span - 1)))
    raise SystemExit(f'unknown learning-rate schedule {text!r}')


def objective_of(cfg):
    """(K, dreg) of config.json's objective: (1, False) for the ELBO (the objective is absent in older runs)."""
    text = cfg.get('objective', 'elbo')
    if text == 'elbo':
        return 1, False
    kind, _, k = text.partition(':')
    if kind not in ('iwae', 'iwae-dreg') or not k.isdigit() or int(k) < 1:
        raise SystemExit(f'unknown objective {text!r}; expected elbo, iwae:K or iwae-dreg:K')
    return int(k), kind == 'iwae-dreg'


# --- data ------------------------------------------------------------------

def load_split(name, spec, binarize):
    x = np.load(os.path.join(HERE, 'data', f'{name}.npy')).astype(np.float32).reshape(-1, *spec['input'])
    if binarize == 'static':
        x = (x >= 0.5).astype(np.float32)
    labels_path = os.path.join(HERE, 'data', f'{name}-labels.npy')
    labels = np.load(labels_path).astype(np.int64) if os.path.exists(labels_path) else None
    return torch.from_numpy(x), None if labels is None else torch.from_numpy(labels)


def extras_of(spec, labels, idx):
    """One-hot labels for the model's label inputs."""
    out = {}
    for name, e in spec.get('extraInputs', {}).items():
        if labels is None:
            raise SystemExit(f'the model reads labels (extraInputs.{name}) and the export has none')
        out[name] = torch.nn.functional.one_hot(labels[idx], e['classes']).float()
    return out


# --- one process -----------------------------------------------------------

def make_optimizer(cfg, params):
    o, lr, wd = cfg['optimizer'], cfg['lr'], cfg.get('weightDecay', 0.0)
    if o == 'adam':
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    if o == 'adamw':
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    return torch.optim.SGD(params, lr=lr, weight_decay=wd)


def run(rank, world, args, port):
    cfg = json.load(open(os.path.join(HERE, 'config.json')))
    spec = cfg['model']
    if world > 1:
        backend = 'nccl' if torch.cuda.is_available() else 'gloo'
        init = f'tcp://127.0.0.1:{port}' if port else 'env://'
        dist.init_process_group(backend, init_method=init, rank=rank, world_size=world)
    device = torch.device(f'cuda:{rank % torch.cuda.device_count()}' if torch.cuda.is_available() else 'cpu')
    torch.manual_seed(args.seed)
    model = WebgpuVae(spec)
    if args.init:
        state, _ = load_safetensors(args.init)
        model.load_state_dict(state, strict=True)
    model.to(device)
    ddp = DistributedDataParallel(model) if world > 1 else model
    x, labels = load_split('train', spec, cfg['binarize'])
    batch = cfg['batch']
    if batch % world:
        raise SystemExit(f'the batch {batch} does not split over {world} processes')
    local = batch // world
    steps_per_epoch = math.ceil(len(x) / batch)
    total = args.steps or steps_per_epoch * (args.epochs or cfg['epochs'])
    opt = make_optimizer(cfg, model.parameters())
    k, dreg = objective_of(cfg)
    gen = torch.Generator().manual_seed(args.seed)
    step, t0 = 0, time.time()
    while step < total:
        order = torch.randperm(len(x), generator=gen)
        for s in range(steps_per_epoch):
            if step >= total:
                break
            idx = order[(s * batch + rank * local + torch.arange(local)) % len(x)]
            xb = x[idx].to(device)
            if cfg['binarize'] == 'dynamic':
                xb = torch.bernoulli(xb)
            eps = torch.randn(local * k, spec['latent'], device=device)
            extras = {k: v.to(device) for k, v in extras_of(spec, labels, idx).items()}
            for g in opt.param_groups:
                g['lr'] = learning_rate(cfg['lrSchedule'], cfg['lr'], step, total)
            beta = kl_weight(cfg['klSchedule'], cfg['beta'], step, total)
            # Through the DDP wrapper's forward, so its hooks average the processes' gradients:
            # the gradient of the global batch mean.
            logits, mu, logvar, z = ddp(xb, eps, extras, k)
            if cfg.get('objective', 'elbo') != 'elbo':
                objective, terms = model.iwae_loss_from(xb, logits, mu, logvar, z, k, dreg)
            else:
                objective, terms = model.loss_from(xb, logits, mu, logvar, z, beta, cfg['freeBits'], cfg['latentL2'])
            opt.zero_grad()
            objective.backward()
            if cfg.get('clipNorm', 0) > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg['clipNorm'])
            opt.step()
            step += 1
            if rank == 0 and (step % args.log_every == 0 or step == total):
                bound = {'bound': terms['bound'].item()} if 'bound' in terms else {}
                print(json.dumps({'step': step, 'loss': (terms['recon'] + terms['kl']).item(), 'recon': terms['recon'].item(), 'kl': terms['kl'].item(), **bound,
                                  'beta': beta, 'processes': world, 'seconds': round(time.time() - t0, 2)}), flush=True)
    if rank == 0:
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        save_safetensors(args.out, state, {'format': 'pt', 'webgpu_vae_spec': json.dumps(spec), 'step': str(step), 'trained_by': f'PyTorch {torch.__version__}, {world} process(es)'})
        print(json.dumps({'saved': args.out, 'steps': step}), flush=True)
    if world > 1:
        dist.destroy_process_group()


def evaluate(path, seed):
    """Test-set ELBO terms of a model file, one posterior sample per input, as `webgpu-vae eval` reports them."""
    cfg = json.load(open(os.path.join(HERE, 'config.json')))
    spec = cfg['model']
    model = WebgpuVae(spec).double()
    state, _ = load_safetensors(path)
    model.load_state_dict({k: v.double() for k, v in state.items()}, strict=True)
    x, labels = load_split('test', spec, 'static' if cfg['binarize'] != 'none' else 'none')
    torch.manual_seed(seed)
    with torch.no_grad():
        eps = torch.randn(len(x), spec['latent'], dtype=torch.float64)
        idx = torch.arange(len(x))
        _, terms = model.loss(x.double(), eps, 1.0, 0.0, 0.0, {k: v.double() for k, v in extras_of(spec, labels, idx).items()}, per_sample=True)
    per = (terms['recon_each'] + terms['kl_each']).numpy()
    print(json.dumps({'count': len(per), 'loss': float(per.mean()), 'loss_std': float(per.std()), 'recon': terms['recon'].item(), 'kl': terms['kl'].item()}), flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--nproc', type=int, default=1, help='processes to start on this machine (torch.multiprocessing.spawn)')
    p.add_argument('--steps', type=int, default=0, help='steps to train (default: the epochs of config.json)')
    p.add_argument('--epochs', type=int, default=0)
    p.add_argument('--init', default='', help='start from this model file (e.g. the run\'s model.safetensors)')
    p.add_argument('--out', default=os.path.join(HERE, 'trained.safetensors'))
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--log-every', type=int, default=50)
    p.add_argument('--eval', default='', help='evaluate this model file on the test split and exit')
    args = p.parse_args()
    if args.eval:
        evaluate(args.eval, args.seed)
        return
    if 'RANK' in os.environ and 'WORLD_SIZE' in os.environ:
        run(int(os.environ['RANK']), int(os.environ['WORLD_SIZE']), args, None)
    elif args.nproc > 1:
        torch.multiprocessing.spawn(run, args=(args.nproc, args, free_port()), nprocs=args.nproc)
    else:
        run(0, 1, args, None)


if __name__ == '__main__':
    main()
