"""The generic pre-norm decoder: embedding, a per-layer pattern of mixers and FFNs, optional MTP heads, output head.

Each layer is `x + mixer(norm(x))` then `x + ffn(norm(x))` (LLaMA / DeepSeek / Qwen3-Next); `cfg.post_norms` also
normalises each output before it is added (Gemma 2), `cfg.parallel_residual` adds both to the same input,
`x + mixer(norm(x)) + ffn(norm'(x))` (GPT-J, GPT-NeoX). Which mixer and FFN
a layer holds comes from its `LayerSpec`: the names index the component table (`archs.components.MIXERS` /
`FFNS`), so a head-to-head comparison changes one string in the config. The decoder tags its embedding and
output head with their parameter kinds; every component declares its own.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from archs.components import FFNS, MIXERS, build_norm, build_positions
from archs.components.component import with_param_kind
from archs.components.mtp import MTPHead


def block_norms(cfg) -> int:
    """How many norms one layer holds: before the mixer and the FFN, and after each with post_norms."""
    return 4 if cfg.post_norms else 2


class Block(nn.Module):
    """One pre-norm layer: the LayerSpec's mixer and FFN, each inside a residual (see the module docstring)."""

    def __init__(self, cfg, spec):
        super().__init__()
        self.spec, self.parallel = spec, cfg.parallel_residual
        self.mixer_norm = build_norm(cfg.norm, cfg.dim, cfg.norm_eps)
        self.mixer = MIXERS[spec.mixer].build(cfg, spec)
        self.ffn_norm = build_norm(cfg.norm, cfg.dim, cfg.norm_eps)
        self.ffn = FFNS[spec.ffn].build(cfg, spec)
        post = cfg.post_norms
        self.mixer_post_norm = build_norm(cfg.norm, cfg.dim, cfg.norm_eps) if post else nn.Identity()
        self.ffn_post_norm = build_norm(cfg.norm, cfg.dim, cfg.norm_eps) if post else nn.Identity()

    def forward(self, x, cache=None, doc_ids=None):
        mixed = x + self.mixer_post_norm(self.mixer(self.mixer_norm(x), cache, doc_ids))
        return mixed + self.ffn_post_norm(self.ffn(self.ffn_norm(x if self.parallel else mixed)))

    def aux_loss(self) -> torch.Tensor | None:
        return getattr(self.ffn, "aux_loss", None)


@dataclass
class DecoderOutput:
    logits: torch.Tensor                                     # [B, T, V]
    aux_loss: torch.Tensor                                   # summed MoE load-balance losses (0 without MoE)
    mtp_logits: list[torch.Tensor] = field(default_factory=list)   # [B, T, V] each; see Decoder.forward


class Decoder(nn.Module):
    """Token ids [B, T] -> logits [B, T, V]. MTP heads: one after every layer whose spec has `mtp=True`
    (each predicts token t+2, document 000's reading), then `cfg.mtp.depth` chained DeepSeek-V3 modules after
    the trunk (module k predicts token t+1+k). They run only when targets are given (training)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed = with_param_kind(nn.Embedding(cfg.vocab_size, cfg.dim), "embedding")
        self.positions = build_positions(cfg)
        self.drop = nn.Dropout(cfg.dropout)
        self.layers = nn.ModuleList(Block(cfg, spec) for spec in cfg.layers)
        self.layer_mtp = nn.ModuleDict({str(i): MTPHead(cfg) for i, spec in enumerate(cfg.layers) if spec.mtp})
        depth = cfg.mtp.depth if cfg.mtp else 0
        # DeepSeek-V3's MTP module holds one more layer, here of the kind the pattern ends with
        self.mtp = nn.ModuleList(MTPHead(cfg, Block(cfg, cfg.pattern[-1]) if cfg.mtp.with_block else None)
                                 for _ in range(depth))
        self.norm = build_norm(cfg.norm, cfg.dim, cfg.norm_eps)
        self.head = with_param_kind(nn.Linear(cfg.dim, cfg.vocab_size, bias=False), "output")
        if cfg.tie_embeddings:
            self.head.weight = self.embed.weight
        self.apply(self._init)

    @staticmethod
    def _init(module):
        if isinstance(module, nn.Linear) and module.weight.device.type != "meta":
            nn.init.normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding) and module.weight.device.type != "meta":
            nn.init.normal_(module.weight, std=0.02)

    def new_cache(self) -> list:
        return [layer.mixer.new_cache() for layer in self.layers]

    def forward(self, idx, cache: list | None = None, doc_ids=None, targets=None) -> DecoderOutput:
        start = cache[0].pos if cache else 0
        x = self.embed(idx)
        if self.positions is not None:
            x = self.positions(x, start)
        x = self.drop(x)
        future = self.embed(targets) if targets is not None else None   # embedding of token t+1 at position t
        aux = x.new_zeros(())
        mtp_logits = []
        for i, layer in enumerate(self.layers):
            x = layer(x, cache[i] if cache else None, doc_ids)
            if (loss := layer.aux_loss()) is not None:
                aux = aux + loss
            if future is not None and str(i) in self.layer_mtp:
                mtp_logits.append(self.head(self.layer_mtp[str(i)](x, future, doc_ids)))
        h = x
        if future is not None:
            for k, module in enumerate(self.mtp):      # module k sees the embedding of token t+1+k
                h = module(h, torch.roll(future, -k, dims=1), doc_ids)
                mtp_logits.append(self.head(h))
        return DecoderOutput(self.head(self.norm(x)), aux, mtp_logits)

    def mtp_offsets(self) -> list[int]:
        """How many tokens past the next one each MTP logit predicts, in DecoderOutput.mtp_logits order."""
        return [1] * len(self.layer_mtp) + [k + 1 for k in range(len(self.mtp))]

    def loss(self, idx, targets) -> dict[str, torch.Tensor]:
        """Next-token cross-entropy ("lm"), MoE aux loss and MTP loss, and their weighted total ("loss")."""
        out = self(idx, targets=targets)
        V = out.logits.shape[-1]
        lm = F.cross_entropy(out.logits.reshape(-1, V).float(), targets.reshape(-1))
        mtp = out.logits.new_zeros((), dtype=torch.float32)
        for logits, off in zip(out.mtp_logits, self.mtp_offsets()):
            mtp = mtp + F.cross_entropy(logits[:, :-off].reshape(-1, V).float(), targets[:, off:].reshape(-1))
        if out.mtp_logits:
            mtp = mtp / len(out.mtp_logits)
        cfg = self.cfg
        total = lm + (cfg.moe.aux_loss_coef * out.aux_loss if cfg.moe else 0) + \
            (self.mtp_coef() * mtp if out.mtp_logits else 0)
        return {"loss": total, "lm": lm.detach(), "aux": out.aux_loss.detach(), "mtp": mtp.detach()}

    def mtp_coef(self) -> float:
        return self.cfg.mtp.loss_coef if self.cfg.mtp else 0.3
