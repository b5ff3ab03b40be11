"""The PyTorch baseline of bench/real-shapes.ts: the same Llama-shaped model (RMSNorm, rotate-half
rotary, grouped-query attention, SwiGLU, optional q/k/v biases, tied embeddings), written out in
torch (Debian's python3-torch 1.13 has no transformers or peft), its weights frozen, LoRA of the
given rank on all seven projections (PEFT's layout: A [r, in], B [out, r], scale alpha/r), AdamW,
cross-entropy over B x S tokens. Prints one JSON line: tokens/s (median of `steps` steps after a
warm-up) and peak RSS in MiB.

Usage: python3 real-shapes-pytorch.py '{"config": {...}, "batch": 4, "seq": 128, "rank": 8, "steps": 3, "threads": 1}'
"""
import json
import math
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

args = json.loads(sys.argv[1])
c = args["config"]
torch.set_num_threads(args["threads"])
torch.manual_seed(1)
B, S, r = args["batch"], args["seq"], args["rank"]
d, f, L = c["hiddenSize"], c["intermediateSize"], c["numLayers"]
nH, nKV, hd, V = c["numHeads"], c["numKvHeads"], c["headDim"], c["vocabSize"]
eps = c["rmsNormEps"]


class LoraLinear(torch.nn.Module):
    """y = x W^T (+ b) + (alpha/r) (x A^T) B^T, W frozen."""

    def __init__(self, inp, out, bias):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(out, inp) / math.sqrt(inp), requires_grad=False)
        self.bias = torch.nn.Parameter(torch.randn(out) * 0.1, requires_grad=False) if bias else None
        self.lora_A = torch.nn.Parameter((torch.rand(r, inp) * 2 - 1) / math.sqrt(inp))
        self.lora_B = torch.nn.Parameter(torch.zeros(out, r))
        self.scale = 2.0

    def forward(self, x):
        return F.linear(x, self.weight, self.bias) + F.linear(F.linear(x, self.lora_A), self.lora_B) * self.scale


def rms_norm(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


inv_freq = 1.0 / (c["ropeTheta"] ** (torch.arange(0, hd, 2).float() / hd))
angles = torch.outer(torch.arange(S).float(), inv_freq)
cos = torch.cat([angles.cos(), angles.cos()], -1)
sin = torch.cat([angles.sin(), angles.sin()], -1)


def rope(x):  # x [B, heads, S, hd]
    half = hd // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], -1)
    return x * cos + rotated * sin


class Layer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        bias = c["attentionBias"]
        self.n1 = torch.nn.Parameter(torch.ones(d), requires_grad=False)
        self.n2 = torch.nn.Parameter(torch.ones(d), requires_grad=False)
        self.q, self.k, self.v = LoraLinear(d, nH * hd, bias), LoraLinear(d, nKV * hd, bias), LoraLinear(d, nKV * hd, bias)
        self.o = LoraLinear(nH * hd, d, False)
        self.gate, self.up, self.down = LoraLinear(d, f, False), LoraLinear(d, f, False), LoraLinear(f, d, False)

    def forward(self, x):
        h = rms_norm(x, self.n1)
        q = rope(self.q(h).view(B, S, nH, hd).transpose(1, 2))
        k = rope(self.k(h).view(B, S, nKV, hd).transpose(1, 2)).repeat_interleave(nH // nKV, 1)
        v = self.v(h).view(B, S, nKV, hd).transpose(1, 2).repeat_interleave(nH // nKV, 1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd)
        scores = scores.masked_fill(torch.triu(torch.ones(S, S, dtype=torch.bool), 1), float("-inf"))
        att = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, S, nH * hd)
        x = x + self.o(att)
        h = rms_norm(x, self.n2)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Parameter(torch.randn(V, d), requires_grad=False)
        self.layers = torch.nn.ModuleList([Layer() for _ in range(L)])
        self.norm = torch.nn.Parameter(torch.ones(d), requires_grad=False)

    def forward(self, ids):
        x = self.embed[ids]
        for layer in self.layers:
            x = layer(x)
        return rms_norm(x, self.norm) @ self.embed.t()


model = Model()
params = [p for p in model.parameters() if p.requires_grad]
opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)


def step():
    ids = torch.randint(0, V, (B, S + 1))
    logits = model(ids[:, :-1])
    loss = F.cross_entropy(logits.reshape(-1, V), ids[:, 1:].reshape(-1))
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()


step()
rates = []
for _ in range(args["steps"]):
    t0 = time.perf_counter()
    step()
    rates.append(B * S / (time.perf_counter() - t0))
print(json.dumps({"tokensPerSecond": statistics.median(rates), "maxRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "torch": torch.__version__, "blas": torch.__config__.show().count("BLAS")}))
