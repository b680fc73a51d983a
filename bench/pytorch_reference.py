#!/usr/bin/python3
"""PyTorch reference for `mtk bench`: the case study's two-task BERT step in plain PyTorch.

A compact BERT (post-LayerNorm encoder layers as in Devlin et al. 2019, GELU, dropout 0.1 on embeddings,
attention probabilities and both residual branches), MiniLM-shaped by default, split at layer k:
the embeddings and layers [0, k) are shared, each task has its own layers [k, L), pooler-free mean pooling
and a head. Task 1 is classification with cross-entropy, task 2 regression with MSE; one AdamW step on the sum.
Random weights and random token ids: this measures time, not quality.

--precision bf16 runs the forward and the losses under CPU autocast to bfloat16 (what Hugging Face's Trainer does with
bf16=True on a CPU): matrix products in bf16, weights, gradients and the optimizer in float32.

The BLAS matters more than anything else here: Debian's python3-torch multiplies through whatever libblas.so.3 the
alternatives system maps, and without libopenblas0-pthread that is the netlib reference BLAS, about ten times slower.
The JSON names the library actually mapped and its kind ("blas_kind"), so a run on the reference BLAS can be refused.

Prints one JSON object on stdout. Run with Debian's interpreter (see bench/README.md):
    /usr/bin/python3 bench/pytorch_reference.py --threads 2 --steps 5
"""
import argparse
import json
import math
import platform
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Embeddings(nn.Module):
    def __init__(self, vocab, hidden, max_pos, dropout):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, hidden)
        self.position_embeddings = nn.Embedding(max_pos, hidden)
        self.token_type_embeddings = nn.Embedding(2, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=1e-12)
        self.dropout = nn.Dropout(dropout)

    def forward(self, ids):
        positions = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        x = self.word_embeddings(ids) + self.position_embeddings(positions) + self.token_type_embeddings(torch.zeros_like(ids))
        return self.dropout(self.LayerNorm(x))


class Layer(nn.Module):
    def __init__(self, hidden, heads, ffn, dropout):
        super().__init__()
        self.heads = heads
        self.head_dim = hidden // heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.attention_output = nn.Linear(hidden, hidden)
        self.attention_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.intermediate = nn.Linear(hidden, ffn)
        self.output = nn.Linear(ffn, hidden)
        self.output_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.dropout = nn.Dropout(dropout)

    def split(self, x):
        b, s, _ = x.shape
        return x.view(b, s, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x, additive_mask):
        b, s, h = x.shape
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim) + additive_mask
        probs = self.dropout(torch.softmax(scores, dim=-1))
        context = torch.matmul(probs, v).transpose(1, 2).reshape(b, s, h)
        x = self.attention_norm(x + self.dropout(self.attention_output(context)))
        return self.output_norm(x + self.dropout(self.output(F.gelu(self.intermediate(x)))))


class Upper(nn.Module):
    def __init__(self, layers, hidden, heads, ffn, dropout, outputs):
        super().__init__()
        self.layers = nn.ModuleList([Layer(hidden, heads, ffn, dropout) for _ in range(layers)])
        self.head = nn.Linear(hidden, outputs)

    def forward(self, x, mask):
        additive = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for layer in self.layers:
            x = layer(x, additive)
        m = mask.unsqueeze(-1).to(x.dtype)
        pooled = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return self.head(pooled)


class TwoTaskBert(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.embeddings = Embeddings(a.vocab, a.hidden, 512, a.dropout)
        self.shared = nn.ModuleList([Layer(a.hidden, a.heads, a.ffn, a.dropout) for _ in range(a.split)])
        upper = a.layers - a.split
        self.classify = Upper(upper, a.hidden, a.heads, a.ffn, a.dropout, 2)
        self.regress = Upper(upper, a.hidden, a.heads, a.ffn, a.dropout, 1)

    def lower(self, ids, mask):
        x = self.embeddings(ids)
        additive = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for layer in self.shared:
            x = layer(x, additive)
        return x


def step_flops(a):
    """6 x linear parameters x tokens plus the two attention products (QK^T, PV), forward and backward."""
    linear = 4 * a.hidden * a.hidden + 2 * a.hidden * a.ffn
    total = 0.0
    for batch, seq in ((a.batch, a.seq1), (a.batch, a.seq2)):
        tokens = batch * seq
        total += 6.0 * linear * a.layers * tokens
        total += 3.0 * 2 * (2.0 * batch * seq * seq * a.hidden) * a.layers
    return total


def loaded_blas():
    """The BLAS library actually mapped into this process (Debian picks it through update-alternatives)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line}
        return ", ".join(sorted(paths)) or "none mapped"
    except OSError as e:
        return f"unknown ({e})"


def blas_kind(mapped):
    """openblas, mkl, blis, or reference (netlib's unoptimised libblas) for the libraries mapped into this process."""
    lower = mapped.lower()
    for kind in ("openblas", "mkl", "blis"):
        if kind in lower:
            return kind
    return "reference" if "/blas/libblas" in lower else "unknown"


def gemm_gflops(n=2048, repeats=5):
    x, y = torch.randn(n, n), torch.randn(n, n)
    torch.mm(x, y)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        torch.mm(x, y)
        best = min(best, time.perf_counter() - t)
    return 2.0 * n ** 3 / best / 1e9


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seq1", type=int, default=128, help="tokens per row, task 1 (classification)")
    p.add_argument("--seq2", type=int, default=64, help="tokens per row, task 2 (regression)")
    p.add_argument("--vocab", type=int, default=30522)
    p.add_argument("--hidden", type=int, default=384)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--ffn", type=int, default=1536)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--split", type=int, default=2)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                   help="bf16: forward and losses under CPU autocast to bfloat16 (HF Trainer's bf16=True on a CPU)")
    a = p.parse_args()
    if not 0 <= a.split <= a.layers:
        sys.exit(f"--split: expected 0..{a.layers}, found {a.split}")

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = TwoTaskBert(a).train()
    opt = torch.optim.AdamW(model.parameters(), lr=5e-5)
    ids1 = torch.randint(0, a.vocab, (a.batch, a.seq1))
    ids2 = torch.randint(0, a.vocab, (a.batch, a.seq2))
    mask1, mask2 = torch.ones_like(ids1), torch.ones_like(ids2)
    labels = torch.randint(0, 2, (a.batch,))
    targets = torch.randn(a.batch)

    autocast = a.precision == "bf16"

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=autocast):
            loss1 = F.cross_entropy(model.classify(model.lower(ids1, mask1), mask1), labels)
            loss2 = F.mse_loss(model.regress(model.lower(ids2, mask2), mask2).squeeze(-1), targets)
        (loss1 + loss2).backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    times.sort()
    median = times[len(times) // 2]
    blas = loaded_blas()
    tokens = a.batch * (a.seq1 + a.seq2)
    flops = step_flops(a)
    print(json.dumps({
        "implementation": "pytorch",
        "torch_version": torch.__version__,
        "python": platform.python_version(),
        "precision": "bf16-autocast" if autocast else "fp32",
        "blas": blas,
        "blas_kind": blas_kind(blas),
        "threads": torch.get_num_threads(),
        "shape": {"batch": a.batch, "seq1": a.seq1, "seq2": a.seq2, "hidden": a.hidden, "heads": a.heads,
                  "ffn": a.ffn, "layers": a.layers, "split": a.split, "vocab": a.vocab, "dropout": a.dropout},
        "steps": a.steps,
        "seconds_per_step": median,
        "seconds_per_step_min": times[0],
        "seconds_per_step_all": times,
        "tokens_per_step": tokens,
        "tokens_per_second": tokens / median,
        "step_gflop": flops / 1e9,
        "achieved_gflops": flops / median / 1e9,
        "gemm_2048_gflops": gemm_gflops(),
    }))


if __name__ == "__main__":
    main()
