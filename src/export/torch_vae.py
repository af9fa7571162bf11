"""webgpu-vae models in PyTorch: an nn.Module built from a webgpu-vae model
definition (the "model" of a run's config.json, or a model JSON file), with
parameter names equal to webgpu-vae's state_dict names, the same forward
(layers in dependency order, named inputs, the two heads, z = mu + sigma * eps,
the decoder) and the same loss (reconstruction NLL summed over features, the
KL with beta, free bits and the latent L2 penalty, as batch means), or the
importance-weighted bound of K samples per input (iwae.wgsl), optionally with
the doubly reparameterized encoder gradient (DReG).

It needs only PyTorch (and the standard library). Used by the scripts that
make reference values for the tests, by the reference training runs, and
copied into the project that `webgpu-vae export --pytorch` writes.

    spec = json.load(open('config.json'))['model']
    model = WebgpuVae(spec)
    model.load_state_dict(load_safetensors('model.safetensors'), strict=True)
"""
import json
import math
import struct

import torch
from torch import nn
from torch.nn import functional as F

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def activate(name, x):
    """The activations of activation_fns.wgsl (gelu is the tanh approximation)."""
    if name in (None, 'identity'):
        return x
    if name == 'relu':
        return F.relu(x)
    if name == 'leaky_relu':
        return F.leaky_relu(x, 0.01)
    if name == 'elu':
        return F.elu(x, 1.0)
    if name == 'gelu':
        return F.gelu(x, approximate='tanh')
    if name == 'silu':
        return F.silu(x)
    if name == 'tanh':
        return torch.tanh(x)
    if name == 'sigmoid':
        return torch.sigmoid(x)
    if name == 'softplus':
        return F.softplus(x)
    raise ValueError(f'unknown activation {name!r}')


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


class Layer(nn.Module):
    """One layer of the model format; `kind` is its "type"."""

    def __init__(self, spec, in_shapes):
        super().__init__()
        self.spec = spec
        self.kind = spec['type']
        s = spec
        t = self.kind
        x = in_shapes[0]
        if t == 'dense':
            self.inner = nn.Linear(x[-1], s['out'])
            self.out_shape = (s['out'],)
        elif t == 'conv2d':
            self.inner = nn.Conv2d(x[0], s['out'], s['kernel'], stride=s.get('stride', 1), padding=s.get('padding', 0), dilation=s.get('dilation', 1))
            self.out_shape = None
        elif t == 'conv_transpose2d':
            self.inner = nn.ConvTranspose2d(x[0], s['out'], s['kernel'], stride=s.get('stride', 1), padding=s.get('padding', 0),
                                            output_padding=s.get('outputPadding', 0), dilation=s.get('dilation', 1))
            self.out_shape = None
        elif t == 'group_norm':
            self.inner = nn.GroupNorm(s['groups'], x[0], eps=s.get('eps', 1e-5))
            self.out_shape = None
        elif t == 'layer_norm':
            self.inner = nn.LayerNorm(tuple(s.get('normalizedShape') or x), eps=s.get('eps', 1e-5))
            self.out_shape = None
        elif t == 'conv1d':
            causal = s.get('causal', False)
            self.inner = nn.Conv1d(x[0], s['out'], s['kernel'], stride=s.get('stride', 1), padding=0 if causal else s.get('padding', 0), dilation=s.get('dilation', 1))
        elif t == 'embedding':
            self.inner = nn.Embedding(s['vocab'], s['dim'])
        elif t == 'gru':
            self.inner = nn.GRU(x[-1], s['hidden'], batch_first=True)
        elif t in ('activation', 'flatten', 'reshape', 'add', 'concat', 'upsample_nearest2d', 'transpose', 'repeat'):
            self.inner = None
        else:
            raise ValueError(f'layer type {t!r} is not supported by this PyTorch builder')

    def forward(self, *xs):
        s, t = self.spec, self.kind
        x = xs[0]
        if t in ('dense', 'conv2d', 'conv_transpose2d', 'group_norm', 'layer_norm'):
            return activate(s.get('activation'), self.inner(x))
        if t == 'conv1d':
            if s.get('causal'):
                x = F.pad(x, ((s['kernel'] - 1) * s.get('dilation', 1), 0))
            return activate(s.get('activation'), self.inner(x))
        if t == 'embedding':
            # Token indices arrive as floats holding integers (webgpu-vae's f32 inputs).
            y = self.inner(x.long())
            return activate(s.get('activation'), y.transpose(1, 2) if s.get('transpose') else y)
        if t == 'gru':
            h0 = xs[1].unsqueeze(0).contiguous() if len(xs) > 1 else None
            return activate(s.get('activation'), self.inner(x, h0)[0])
        if t == 'activation':
            return activate(s['activation'], x)
        if t == 'flatten':
            return x.flatten(1)
        if t == 'reshape':
            return x.reshape(x.shape[0], *s['shape'])
        if t == 'add':
            b = xs[1]
            return x + b.reshape(*b.shape, *([1] * (x.dim() - b.dim())))
        if t == 'concat':
            axis = s.get('axis', 1)
            return torch.cat(xs, dim=axis if axis > 0 else x.dim() - 1)
        if t == 'transpose':
            return x.transpose(-1, -2)
        if t == 'repeat':
            return x.unsqueeze(1).expand(x.shape[0], s['times'], x.shape[1])
        if t == 'upsample_nearest2d':
            return F.interpolate(x, scale_factor=s.get('scale', 2), mode='nearest')
        raise ValueError(t)


def _attach(root, name, module):
    """Registers `module` under a dotted name ("enc.conv1"), so its parameters are "enc.conv1.weight"."""
    parts = name.split('.')
    parent = root
    for p in parts[:-1]:
        if not hasattr(parent, p) or not isinstance(getattr(parent, p), nn.Module):
            parent.add_module(p, nn.Module())
        parent = getattr(parent, p)
    parent.add_module(parts[-1], module)


def _order(layers, start):
    """Layer indices in dependency order (list order among the free ones), and each one's inputs."""
    by_name = {l['name']: i for i, l in enumerate(layers) if 'name' in l}
    deps = []
    for i, l in enumerate(layers):
        names = l.get('inputs') or [start if i == 0 else i - 1]
        deps.append([by_name.get(n, n) if isinstance(n, str) else n for n in names])
    done, placed = [], set()
    while len(done) < len(layers):
        nxt = next(i for i in range(len(layers)) if i not in placed and all(not isinstance(d, int) or d in placed for d in deps[i]))
        placed.add(nxt)
        done.append(nxt)
    return done, deps


class Section(nn.Module):
    """An encoder or a decoder: its layers run in dependency order from `start` (x or z) and the extra inputs."""

    def __init__(self, root, layers, start, start_shape, extra_shapes):
        super().__init__()
        self.layers_spec = layers
        self.start = start
        self.order, self.deps = _order(layers, start)
        self.modules_ = {}
        shapes = {start: start_shape, **extra_shapes}
        for i in self.order:
            l = layers[i]
            ins = [shapes[d] for d in self.deps[i]]
            m = Layer(l, ins)
            with torch.no_grad():
                probe = m(*[torch.zeros(1, *s) for s in ins])
            shapes[i] = tuple(probe.shape[1:])
            self.modules_[i] = m
            if m.inner is not None:
                _attach(root, l['name'], m.inner)
        self.out_shape = shapes[len(layers) - 1] if layers else start_shape

    def forward(self, start, extras):
        if not self.layers_spec:
            return start
        values = {self.start: start, **extras}
        for i in self.order:
            values[i] = self.modules_[i](*[values[d] for d in self.deps[i]])
        return values[len(self.layers_spec) - 1]


class WebgpuVae(nn.Module):
    """The VAE of a webgpu-vae model definition, with webgpu-vae's parameter names."""

    def __init__(self, spec):
        super().__init__()
        self.spec = spec
        # A label is one-hot (classes,); the previous tokens of a sequence model are shaped like x (T, V).
        extra = {n: (e['classes'],) if e['type'] == 'label' else tuple(spec['input']) for n, e in spec.get('extraInputs', {}).items()}
        # The sections are plain attributes: their layers are registered on the root under their own names.
        encoder = Section(self, spec['encoder'], 'x', tuple(spec['input']), extra)
        h = numel(encoder.out_shape)
        _attach(self, spec['heads']['mu'], nn.Linear(h, spec['latent']))
        _attach(self, spec['heads']['logvar'], nn.Linear(h, spec['latent']))
        decoder = Section(self, spec['decoder'], 'z', (spec['latent'],), extra)
        lk = spec.get('likelihood', {'type': 'bernoulli'})
        if lk['type'] == 'gaussian' and lk.get('learnSigma'):
            self.log_sigma = nn.Parameter(torch.zeros(*spec['input']))
        object.__setattr__(self, 'encoder_', encoder)
        object.__setattr__(self, 'decoder_', decoder)

    def head(self, name):
        m = self
        for p in name.split('.'):
            m = getattr(m, p)
        return m

    def encode(self, x, extras=None):
        h = self.encoder_(x, extras or {})
        return self.head(self.spec['heads']['mu'])(h), self.head(self.spec['heads']['logvar'])(h)

    def decode_raw(self, z, extras=None):
        y = self.decoder_(z, extras or {})
        return y.reshape(y.shape[0], *self.spec['input'])

    def forward(self, x, eps, extras=None, k=1):
        """logits, mu, logvar, z; with k > 1, eps is (B*k, J), row b*k + i sample i of input b, and the decoder runs on the B*k samples."""
        mu, logvar = self.encode(x, extras)
        if k > 1:
            z = mu.repeat_interleave(k, 0) + torch.exp(0.5 * logvar.repeat_interleave(k, 0)) * eps
            return self.decode_raw(z, {n: v.repeat_interleave(k, 0) for n, v in (extras or {}).items()}), mu, logvar, z
        z = mu if self.spec.get('autoencoder') else mu + torch.exp(0.5 * logvar) * eps
        return self.decode_raw(z, extras), mu, logvar, z

    def recon_nll(self, logits, x):
        """Per-sample reconstruction NLL, summed over features (as elbo.wgsl)."""
        lk = self.spec.get('likelihood', {'type': 'bernoulli'})
        b = x.shape[0]
        if lk['type'] == 'bernoulli':
            return F.binary_cross_entropy_with_logits(logits, x, reduction='none').reshape(b, -1).sum(1)
        if lk['type'] == 'gaussian':
            ls = self.log_sigma.expand_as(x) if lk.get('learnSigma') else torch.full_like(x, lk.get('logSigma', 0.0))
            r = (x - logits) * torch.exp(-ls)
            return (0.5 * r * r + ls + HALF_LOG_2PI).reshape(b, -1).sum(1)
        v = lk['classes']
        lp = F.log_softmax(logits.reshape(b, -1, v), dim=-1)
        return -(x.reshape(b, -1, v) * lp).sum((1, 2))

    def loss(self, x, eps, beta=1.0, free_bits=0.0, latent_l2=0.0, extras=None, per_sample=False):
        """The objective webgpu-vae minimizes (batch means) and its terms."""
        logits, mu, logvar, z = self.forward(x, eps, extras)
        return self.loss_from(x, logits, mu, logvar, z, beta, free_bits, latent_l2)

    def loss_from(self, x, logits, mu, logvar, z, beta=1.0, free_bits=0.0, latent_l2=0.0):
        """The objective from a forward's outputs (as elbo.wgsl: batch means; free bits on the batch-mean KL per dimension)."""
        recon = self.recon_nll(logits, x)
        kl_elem = 0.5 * (mu * mu + torch.expm1(logvar) - logvar)
        kl = kl_elem.sum(1)
        kl_dim = kl_elem.mean(0)
        if free_bits > 0:
            kl_obj = torch.where(kl_dim < free_bits, torch.full_like(kl_dim, free_bits), kl_dim).sum()
        else:
            kl_obj = kl_dim.sum()
        if self.spec.get('autoencoder'):
            beta = 0.0
        l2 = (z * z).sum(1).mean()
        objective = recon.mean() + beta * kl_obj + latent_l2 * l2
        return objective, {'recon': recon.mean(), 'kl': kl.mean(), 'recon_each': recon, 'kl_each': kl, 'logits': logits, 'mu': mu, 'logvar': logvar, 'z': z}

    def iwae_loss(self, x, eps, k, dreg=False, extras=None):
        """The importance-weighted objective of k samples per input (eps: (B*k, J)) and its terms."""
        logits, mu, logvar, z = self.forward(x, eps, extras, k)
        return self.iwae_loss_from(x, logits, mu, logvar, z, k, dreg)

    def iwae_loss_from(self, x, logits, mu, logvar, z, k, dreg=False):
        """-(1/B) sum_b log (1/k) sum_i w_bi with log w = log p(x|z) + log p(z) - log q(z|x) (as iwae.wgsl).

        With dreg, the objective is the surrogate -(1/B) sum_bi stop(w~_bi) log w_bi with q's
        parameters held in log q and the gradient reaching z scaled by w~ once more: the decoder
        gets IWAE's gradient and the encoder the doubly reparameterized one (Tucker et al. 2019).
        """
        b = x.shape[0]
        recon = self.recon_nll(logits, x.repeat_interleave(k, 0))
        mu_q, lv_q = mu.repeat_interleave(k, 0), logvar.repeat_interleave(k, 0)
        if dreg:
            mu_q, lv_q = mu_q.detach(), lv_q.detach()
        # log p(z) - log q(z|x); the (1/2) log 2 pi terms cancel.
        lw = (-0.5 * z * z + 0.5 * ((z - mu_q) ** 2 * torch.exp(-lv_q) + lv_q)).sum(1)
        log_w = (lw - recon).reshape(b, k)
        bound = torch.logsumexp(log_w, 1) - math.log(k)
        if dreg:
            w = torch.softmax(log_w, 1).detach()
            if z.requires_grad:
                z.register_hook(lambda g: g * w.reshape(-1, 1))
            objective = -(w * log_w).sum(1).mean()
        else:
            objective = -bound.mean()
        kl = (0.5 * (mu * mu + torch.expm1(logvar) - logvar)).sum(1)
        return objective, {'bound': bound.mean(), 'recon': recon.mean(), 'kl': kl.mean(), 'bound_each': bound, 'logits': logits, 'mu': mu, 'logvar': logvar, 'z': z}


# --- sequences: token ids and the model's one-hot inputs -------------------

# The special token ids of every webgpu-vae vocabulary (src/data/tokens.ts).
PAD, START, END, UNK = 0, 1, 2, 3


def previous_tokens_input(spec):
    """The name of a sequence model's previous-token input (None for other models)."""
    return next((n for n, e in spec.get('extraInputs', {}).items() if e['type'] == 'previous-tokens'), None)


def one_hot_tokens(ids, vocab, dtype=torch.float32):
    """Token ids (B, T) as one-hot rows (B, T, V); padding is an all-zero row:
    no input, and no term of the categorical loss (as gather_onehot in shaders/tokens.wgsl)."""
    ids = ids.long()
    return (F.one_hot(ids, vocab) * (ids != PAD).unsqueeze(-1)).to(dtype)


def previous_token_ids(ids, dropout=0.0, generator=None):
    """The decoder's teacher-forcing input as ids (B, T): START at t = 0, the
    token before at t > 0. With word dropout p, each of those (t > 0) that is
    not padding becomes UNK with probability p (shaders/tokens.wgsl)."""
    ids = ids.long()
    prev = torch.empty_like(ids)
    prev[:, 0] = START
    prev[:, 1:] = ids[:, :-1]
    if dropout > 0:
        drop = torch.rand(prev[:, 1:].shape, generator=generator) < dropout
        prev[:, 1:] = torch.where(drop & (prev[:, 1:] != PAD), torch.full_like(prev[:, 1:], UNK), prev[:, 1:])
    return prev


# Decoder layers that act on each time step on its own (the GRU carrying its state): such a decoder is run one step at a time.
STEPWISE_LAYERS = ('dense', 'activation', 'repeat', 'concat', 'gru')


def _decoder_step(model, z, prev, states):
    """One step of a decoder made of STEPWISE_LAYERS: prev (B, 1, V) is the
    step's previous token; each repeat gives one row, each GRU starts from its
    state in `states` (the first step: its initial-state input, or zeros) and
    leaves its new state there. Returns the step's logits (B, V)."""
    sec = model.decoder_
    values = {sec.start: z, previous_tokens_input(model.spec): prev}
    for i in sec.order:
        layer = sec.modules_[i]
        ins = [values[d] for d in sec.deps[i]]
        if layer.kind == 'repeat':
            values[i] = ins[0].unsqueeze(1)
        elif layer.kind == 'gru':
            h = states.get(i)
            if h is None:
                h = ins[1] if len(ins) > 1 else torch.zeros(ins[0].shape[0], layer.spec['hidden'], dtype=ins[0].dtype)
            y, hn = layer.inner(ins[0], h.unsqueeze(0).contiguous())
            states[i] = hn[0]
            values[i] = activate(layer.spec.get('activation'), y)
        else:
            values[i] = layer(*ins)
    return values[len(sec.layers_spec) - 1][:, 0]


def _stepwise(spec):
    return all(l['type'] in STEPWISE_LAYERS and (l['type'] != 'concat' or l.get('axis', 1) in (-1, 2)) for l in spec['decoder'])


def decode_tokens(model, z, temperature=0.0, generator=None, batch=500, mask=None):
    """Autoregressive decoding of codes z (N, J) into token ids (N, T), as
    src/eval/decode.ts does on the GPU: the previous-token input starts with
    START; at each step t the token is the argmax of the logits (temperature
    0; the lowest id on ties) or a draw from softmax(logits / temperature); it
    becomes the input of step t + 1; a row that has drawn END draws PAD from
    then on (an all-zero input). A decoder of STEPWISE_LAYERS (the GRU) runs
    one step at a time; another (causal convolutions) runs over the whole
    sequence at each step, which is exact for any causal decoder.

    mask: optional; mask(n) makes, for each batch of n rows, an object whose
    apply(logits) returns the step's logits with the tokens it rules out set
    to -inf, and whose update(tok) takes the tokens drawn (e.g. a syntax mask
    that keeps each row's open branches)."""
    spec = model.spec
    name = previous_tokens_input(spec)
    if name is None or len(spec['input']) != 2:
        raise ValueError('decode_tokens: the model has no previous-tokens input (a sequence model of input [T, V])')
    T, V = spec['input']
    stepwise = _stepwise(spec)
    out = torch.full((z.shape[0], T), PAD, dtype=torch.long)
    with torch.no_grad():
        for a in range(0, z.shape[0], batch):
            zb = z[a:a + batch]
            n = zb.shape[0]
            rows = torch.arange(n)
            prev = torch.zeros(n, T, V, dtype=zb.dtype)
            prev[:, 0, START] = 1
            done = torch.zeros(n, dtype=torch.bool)
            states = {}
            rule = mask(n) if mask is not None else None
            for t in range(T):
                if stepwise:
                    logits = _decoder_step(model, zb, prev[:, t:t + 1], states)
                else:
                    logits = model.decode_raw(zb, {name: prev})[:, t]
                if rule is not None:
                    logits = rule.apply(logits)
                if temperature == 0:
                    tok = logits.argmax(-1)
                else:
                    p = torch.softmax(logits.double() / temperature, -1)
                    tok = torch.multinomial(p, 1, generator=generator).squeeze(1)
                tok = torch.where(done, torch.full_like(tok, PAD), tok)
                out[a + rows, t] = tok
                if rule is not None:
                    rule.update(tok)
                if t + 1 < T:
                    live = tok != PAD
                    prev[rows[live], t + 1, tok[live]] = 1
                done |= tok == END
                if bool(done.all()):
                    break
    return out


# --- safetensors without the safetensors package ---------------------------

def save_safetensors(path, tensors, metadata=None):
    """Writes F32 tensors: an 8-byte little-endian header length, the JSON header, the bytes."""
    header = {'__metadata__': dict(metadata or {})}
    blobs, off = [], 0
    for name, t in tensors.items():
        b = t.detach().to(torch.float32).contiguous().cpu().numpy().astype('<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b' ' * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


def load_safetensors(path):
    """Reads F32 tensors (as safetensors.torch.load_file does) and the metadata."""
    import numpy as np
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop('__metadata__', {})
    out = {}
    for name, h in header.items():
        if h['dtype'] != 'F32':
            raise ValueError(f'{path}: {name} has dtype {h["dtype"]}; expected F32')
        a, b = h['data_offsets']
        arr = np.frombuffer(data[8 + n + a:8 + n + b], dtype='<f4').reshape(h['shape'])
        out[name] = torch.from_numpy(arr.copy())
    return out, meta


# --- webgpu-vae's random numbers (shaders/philox.wgsl) ---------------------

M0, M1, W0, W1 = 0xd2511f53, 0xcd9e8d57, 0x9e3779b9, 0xbb67ae85
MASK = 0xffffffff


def philox4x32_10(counter, key):
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for r in range(10):
        if r > 0:
            k0, k1 = (k0 + W0) & MASK, (k1 + W1) & MASK
        p0, p1 = M0 * c0, M1 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & MASK, p1 & MASK, ((p0 >> 32) ^ c3 ^ k1) & MASK, p0 & MASK
    return c0, c1, c2, c3


def random_normal(seed, step, stream, n):
    """The standard normals webgpu-vae draws on the GPU for (seed, step, stream), in float64 (the GPU's to f32 precision)."""
    out = []
    u = lambda r: ((r >> 8) + 1) * 2.0 ** -24
    block = 0
    while len(out) < n:
        w = philox4x32_10((block, step, 0, 0), (seed, stream))
        for a, b in ((w[0], w[1]), (w[2], w[3])):
            radius = math.sqrt(-2 * math.log(u(a)))
            theta = math.pi * (2 * u(b) - 1)
            out += [radius * math.cos(theta), radius * math.sin(theta)]
        block += 1
    return torch.tensor(out[:n], dtype=torch.float64)
