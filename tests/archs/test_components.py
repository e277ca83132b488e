"""The component table: a new mixer kind is one module plus one table entry, and the decoder, the config
checks, the analytic formulas and the parameter counter all pick it up from there."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn

from archs import analytic
from archs.components import FFNS, MIXERS
from archs.components.cache import Cache
from archs.components.component import Component
from archs.config import DecoderConfig, LayerSpec, MLAConfig, MoEConfig
from harness.errors import ConfigError
from harness.measure.counting import count_params, torch_flops


# ---------------------------------------------------------------- the "new module" of a toy mixer kind
def params_formula(cfg, spec) -> int:
    return cfg.dim * cfg.dim


def flops_formula(cfg, spec, T: int, causal: bool = True) -> int:
    return 2 * T * cfg.dim * cfg.dim                  # the projection; the running mean is not a matmul


def cache_bytes_formula(cfg, spec, batch: int, T: int, dtype_bytes: int) -> int:
    return batch * cfg.dim * dtype_bytes              # the running sum, whatever T


@dataclass
class RunningSum(Cache):
    total: torch.Tensor | None = None                 # [B, 1, D]


class RunningMean(Component):
    """y_t = W · mean(x_1..x_t): causal, with a fixed-size decode state."""
    kind = param_kind = "running_mean"
    params_formula = staticmethod(params_formula)
    flops_formula = staticmethod(flops_formula)
    cache_bytes_formula = staticmethod(cache_bytes_formula)

    def __init__(self, cfg, spec):
        super().__init__()
        self.proj = nn.Linear(cfg.dim, cfg.dim, bias=False)

    def new_cache(self, capacity: int = 0) -> RunningSum:
        return RunningSum()

    def forward(self, x, cache: RunningSum | None = None, doc_ids=None):
        start = cache.pos if cache is not None else 0
        sums = x.cumsum(1)
        if cache is not None:
            sums = sums if cache.total is None else sums + cache.total
            cache.total, cache.pos = sums[:, -1:].clone(), start + x.shape[1]
        counts = torch.arange(start + 1, start + x.shape[1] + 1, device=x.device, dtype=x.dtype)[:, None]
        return self.proj(sums / counts)


# ---------------------------------------------------------------- its table entry, and a decoder that uses it
@pytest.fixture
def toy_cfg(monkeypatch) -> DecoderConfig:
    monkeypatch.setitem(MIXERS, "running_mean", RunningMean)
    return DecoderConfig(vocab_size=64, dim=32, n_layers=4, n_heads=4, ffn_dim=48,
                         pattern=(LayerSpec(mixer="running_mean"), LayerSpec(mixer="attention", ffn="gelu")))


def test_a_mixer_kind_outside_the_table_is_a_config_error():
    with pytest.raises(ConfigError, match="LayerSpec.mixer='running_mean' is not one of attention, mla, gdn"):
        LayerSpec(mixer="running_mean")


def test_a_new_mixer_kind_builds_runs_and_decodes(toy_cfg):
    torch.manual_seed(0)
    model = toy_cfg.build().eval()
    assert [type(layer.mixer) for layer in model.layers] == [RunningMean, MIXERS["attention"]] * 2
    idx = torch.randint(0, 64, (2, 12))
    cache = model.new_cache()
    with torch.no_grad():
        full = model(idx).logits
        steps = [model(idx[:, :8], cache).logits] + [model(idx[:, t:t + 1], cache).logits for t in range(8, 12)]
    assert full.shape == (2, 12, 64)
    torch.testing.assert_close(torch.cat(steps, dim=1), full, rtol=1e-5, atol=1e-5)
    held = sum(c.nbytes() for c in cache)
    assert held == sum(analytic.cache_bytes(toy_cfg, 2, 12, 4).values())
    assert analytic.cache_bytes(toy_cfg, 2, 12, 4)["running_mean"] == 2 * 2 * 32 * 4


def test_a_new_mixer_kind_is_counted_under_its_own_kind_and_matches_its_formulas(toy_cfg):
    model = toy_cfg.build()
    counted, formula = count_params(model), analytic.params(toy_cfg)
    assert counted.by_kind == formula.by_kind
    assert counted.by_kind["running_mean"] == 2 * 32 * 32
    assert counted.total == formula.total == sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        measured = torch_flops(model, torch.randint(0, 64, (1, 16))).total
    parts = analytic.flops_forward(toy_cfg, 16, causal=False)   # torch's counter sees SDPA's full T²
    assert parts["running_mean"] == 2 * 2 * 16 * 32 * 32
    assert measured == sum(parts.values())


# ---------------------------------------------------------------- every entry of the table
def one_layer(mixer: str, ffn: str) -> DecoderConfig:
    return DecoderConfig(vocab_size=64, dim=32, n_layers=1, n_heads=4, ffn_dim=48,
                         pattern=(LayerSpec(mixer=mixer, ffn=ffn),),
                         moe=MoEConfig(n_experts=4, top_k=2, expert_dim=16, n_shared=1),
                         mla=MLAConfig(kv_lora_rank=16, qk_nope_dim=8, qk_rope_dim=8, v_head_dim=8))


@pytest.mark.parametrize("mixer", sorted(MIXERS))
@pytest.mark.parametrize("ffn", sorted(FFNS))
def test_every_table_entry_is_counted_as_its_formulas_say(mixer, ffn):
    cfg = one_layer(mixer, ffn)
    counted, formula = count_params(cfg.build()), analytic.params(cfg)
    assert counted.by_kind == formula.by_kind and counted.active == formula.active
    mixer_cls, ffn_cls = MIXERS[mixer], FFNS[ffn]
    assert counted.by_kind[mixer_cls.param_kind] == mixer_cls.params_formula(cfg, cfg.pattern[0])
    assert sum(ffn_cls.params_by_kind(cfg, cfg.pattern[0]).values()) == ffn_cls.params_formula(cfg, cfg.pattern[0])
    assert set(analytic.flops_forward(cfg, 8)) == {mixer_cls.kind, ffn_cls.kind, "logits"}


def test_routed_experts_count_at_top_k_over_n_experts():
    cfg = one_layer("attention", "moe")
    counted = count_params(cfg.build())
    experts = counted.by_kind["moe_experts"]
    assert counted.active == counted.total - experts + experts * 2 // 4
