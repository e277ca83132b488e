"""Document 002's code snippets, re-implemented from their description and run against the algorithms they
claim to be: its blockwise "flash attention" against exact attention (and a correct online-softmax version),
its speculative decoding loop against standard speculative sampling (output-distribution shift), and its
dynamic batching routine against arrival-order batching (padding efficiency). Only the Monte Carlo sample count
of the speculative-decoding comparison depends on the profile (SIZES)."""
from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from archs.snippets import blockwise_attention as attn
from archs.snippets import dynamic_batching as batching
from archs.snippets import speculative as spec
from harness.measure.gates import rel_err
from harness.report.headline import Headline
from harness.suite import Context, PerProfile, Suite, Unit


@dataclass(frozen=True)
class Sizes:
    samples: int                        # Monte Carlo samples per output-distribution estimate


SIZES = PerProfile(smoke=Sizes(samples=2_000), quick=Sizes(samples=20_000), standard=Sizes(samples=50_000),
                   full=Sizes(samples=50_000))


def attention_rows(ctx: Context):
    T, D = 256, 64
    g = torch.Generator().manual_seed(ctx.seed)
    q, k, v = (torch.randn(2, T, D, generator=g) for _ in range(3))
    exact = attn.exact_attention(q, k, v)
    for block in (256, 128, 64, 32, 16):
        shape = {"T": T, "D": D, "block": block, "key_blocks": T // block}
        for case, out in (("doc_blockwise", attn.doc_blockwise_attention(q, k, v, block)),
                          ("online_softmax", attn.online_softmax_attention(q, k, v, block))):
            yield dict(case=case, measure="exactness", metric="rel_error", value=rel_err(out, exact),
                       unit="ratio", stat="exact", shape=shape,
                       method="‖out − softmax(QKᵀ/√d)V‖_F / ‖exact‖_F in float64, random N(0,1) inputs")
    for T_mem in (1024, 4096, 16384):
        for case in ("exact", "doc", "online"):
            yield dict(case=f"{case}_scratch", measure="memory", metric="peak_bytes", unit="bytes",
                       value=4 * attn.peak_extra_elements(case, T_mem, D, 128), stat="analytic", device="formula",
                       shape={"T": T_mem, "D": D, "block": 128},
                       method="scratch elements alive at the peak × 4 bytes, per (batch, head)")


def speculative_rows(ctx: Context):
    target, draft = spec.toy_chains(seed=ctx.seed)
    n = SIZES[ctx.profile].samples
    for method in ("standard", "doc"):
        for n_tokens in (1, 2):
            tv = spec.output_distribution_shift(method, target, draft, n_tokens=n_tokens, n_samples=n, seed=ctx.seed)
            yield dict(case=method, measure="distribution_shift", metric="tv_distance", value=tv, unit="ratio",
                       stat="exact", n=n, shape={"tokens": n_tokens, "k": 4},
                       method=f"Monte Carlo ({n} samples) vs the exact target chain, 8-token toy Markov chains",
                       extra={"threshold": 0.1 if method == "doc" else None,
                              "mc_noise_floor": "about 0.5·sqrt(V^tokens / n)"})


def batching_rows(ctx: Context):
    rng = random.Random(ctx.seed)
    lengths = [max(1, int(rng.lognormvariate(5.0, 0.8))) for _ in range(1000)]
    for case, batches in (("doc_dynamic", batching.doc_dynamic_batch(lengths)),
                          ("sorted_chunks", batching.sorted_chunks(lengths)),
                          ("fifo", batching.fifo_batches(lengths))):
        common = dict(case=case, measure="batching", unit="ratio", stat="exact", shape={"requests": 1000, "max_batch": 32},
                      method="1000 log-normal request lengths (seeded), batches of ≤ 32")
        yield common | dict(metric="padding_efficiency", value=batching.padding_efficiency(batches, lengths),
                            extra={"batches": len(batches),
                                   "max_len_ratio": batching.max_ratio_in_batches(batches, lengths)})


HEADLINE = Headline(
    title="Scratch memory of exact attention, the document's block-wise snippet and online softmax, against T",
    kind="lines", metric="peak_bytes", x="shape.T", log_x=True, log_y=True, slopes=True, y_label="scratch bytes",
    claim="002-flash-attention-linear-memory")

SUITE = Suite(
    headline=HEADLINE,
    name="snippets",
    question="Do document 002's code snippets do what they are presented as doing?",
    plan=lambda ctx: [Unit("attention", attention_rows), Unit("speculative", speculative_rows),
                      Unit("batching", batching_rows)],
    sizes=SIZES, docs=("002",), description=__doc__,
)
