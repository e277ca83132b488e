"""Document 000, hybrid superblocks: [Gated DeltaNet + MoE] then [GQA + MoE + MTP head], 12 superblocks at
d=8192, 16 heads, vocabulary 50,432 ("~235B"), and the MVP roadmap stages of 1, 3, 6 and 12 superblocks.

Reading of the document (recorded in every config's `assumptions`): each of its 8 "layers" per superblock is a
sub-layer of two pre-norm residual decoder layers; the MTP head after the second layer predicts token t+2 from
that layer's output and the embedding of token t+1, sharing the embedding and output head.
"""
from __future__ import annotations

from dataclasses import replace

from archs.presets import ARCHS
from archs.config import DecoderConfig, DeltaNetConfig, LayerSpec, MoEConfig
from archs.presets.shrink import shrink

SUPERBLOCK = (LayerSpec(mixer="gdn", ffn="moe"), LayerSpec(mixer="attention", ffn="moe", mtp=True))
MVP_STAGES = {1: 1, 2: 3, 3: 6, 4: 12}          # roadmap stage -> superblocks

ASSUMPTIONS = (
    "superblock = 2 pre-norm residual layers (GDN+MoE, GQA+MoE) + an MTP head; 000 lists 3 RMSNorms per "
    "superblock, a pre-norm layer has one per sub-layer (4) plus the MTP head's",
    "GQA: 16 query heads of 512, 4 KV heads (000 gives no KV head count)",
    "Gated DeltaNet: 16 heads, head dims 512 (dim / heads), short conv 4",
    "MoE: 64 experts of SwiGLU width 6144, top-4, softmax router, no shared expert (000 gives no expert "
    "count or width; these make the total land near 235B)",
    "MTP head per superblock predicts token t+2 (000 does not say what it predicts)",
    "RoPE inside GQA only; untied embeddings; dropout 0.1 after the embedding (000)",
)


@ARCHS.register("hybrid-235b", doc="000", scale="full", title="000 hybrid: 12 superblocks, d=8192, MVP-4")
def hybrid_235b() -> DecoderConfig:
    return DecoderConfig(
        vocab_size=50432, dim=8192, n_layers=2 * 12, n_heads=16, n_kv_heads=4, ffn_dim=6144,
        pattern=SUPERBLOCK, max_seq_len=131072, dropout=0.1,
        moe=MoEConfig(n_experts=64, top_k=4, expert_dim=6144),
        gdn=DeltaNetConfig(conv_size=4), assumptions=ASSUMPTIONS)


def mvp_stage(cfg: DecoderConfig, stage: int) -> DecoderConfig:
    """The roadmap stage's model: the same superblock repeated MVP_STAGES[stage] times."""
    n = MVP_STAGES[stage]
    return replace(cfg, n_layers=len(cfg.pattern) * n,
                   assumptions=cfg.assumptions + (f"MVP-{stage}: {n} superblock(s)",))


def hybrid_tiny() -> DecoderConfig:
    return replace(shrink(hybrid_235b(), n_layers=4), dropout=0.0)


ARCHS.add("hybrid-tiny", hybrid_tiny, doc="000", scale="tiny", title="000 hybrid at 128 wide, 2 superblocks")
for _stage, _n in MVP_STAGES.items():
    ARCHS.add(f"hybrid-mvp{_stage}", lambda s=_stage: mvp_stage(hybrid_235b(), s), doc="000",
              scale="full", title=f"000 MVP-{_stage}: {_n} superblock(s) at d=8192")
    ARCHS.add(f"hybrid-mvp{_stage}-tiny", lambda s=_stage: mvp_stage(hybrid_tiny(), s), doc="000",
              scale="tiny", title=f"000 MVP-{_stage} at 128 wide: {_n} superblock(s)")
