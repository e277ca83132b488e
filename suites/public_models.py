"""What public models and papers actually use: rows from small fixtures of their published configurations.

The documents say which public models use a component ("RMSNorm: used in LLaMA 1/2/3, Mistral/Mixtral, Gemma")
and which papers introduced one. Each model is a JSON file under `suites/fixtures/public_models/` holding the
few fields of its published config.json the claims need, the URL it was copied from, its release month, and
`implementation`: what the model type's reference code does that the config does not spell out (gated or
plain MLP, norm placement), naming that code. `papers.json` lists arXiv papers and what each introduced.

Rows (stat "exact", device "formula": nothing is run):
- `config_value`: every number of the fixture's config (case = the field), its release as YYYYMM
  (`released_yyyymm`) and the rotated fraction of each head (`rope_fraction`).
- `has_component`: 1 or 0 for each name in COMPONENTS, derived from the config by the rules in `components`.
- `kv_reduction` (measure `kv_vs_mha`): query heads / KV heads.
- papers: `has_component` = 1 for what the paper introduced, `config_value` `published_yyyymm`;
  arch = "arxiv:<id>".
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from harness.errors import ArchbenchError
from harness.suite import Context, Suite, Unit
from harness.report.headline import Headline

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "public_models"
COMPONENTS = ("rmsnorm", "layernorm", "pre_norm", "rope", "swiglu", "geglu", "gelu", "gqa", "mqa", "mla",
              "shared_rope_key", "moe", "mtp", "sliding_window")
EXPERT_FIELDS = ("num_local_experts", "n_routed_experts", "num_experts")


@dataclass(frozen=True)
class PublicModel:
    name: str
    title: str
    source: str
    retrieved: str
    released: str                       # "YYYY-MM"
    config: dict[str, Any]
    implementation: dict[str, str]


def _yyyymm(text: str, where: str) -> int:
    try:
        year, month = (int(part) for part in text.split("-"))
    except ValueError:
        raise ArchbenchError(f"{where}: a date must be YYYY-MM, got {text!r}") from None
    return 100 * year + month


def _read(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ArchbenchError(f"{path.name}: cannot read fixture: {err}") from None


def load_models(folder: Path = FIXTURES) -> tuple[PublicModel, ...]:
    """Every model fixture in `folder` (all *.json but papers.json), sorted by name."""
    models = []
    for path in sorted(folder.glob("*.json")):
        if path.name == "papers.json":
            continue
        raw = _read(path)
        try:
            models.append(PublicModel(**raw))
        except TypeError as err:
            raise ArchbenchError(f"{path.name}: {err}") from None
    return tuple(models)


def components(model: PublicModel) -> dict[str, bool]:
    """Which COMPONENTS the published model has, from its config fields and reference-code notes."""
    cfg, impl = model.config, model.implementation
    heads = cfg["num_attention_heads"]
    kv = cfg.get("num_key_value_heads") or heads
    act = str(cfg.get("hidden_act", ""))
    gated = impl.get("ffn") == "gated"
    mla = "kv_lora_rank" in cfg
    return {
        "rmsnorm": "rms_norm_eps" in cfg,
        "layernorm": "layer_norm_eps" in cfg or impl.get("norm") == "layernorm",
        "pre_norm": impl.get("norm_placement") == "pre",
        "rope": impl.get("position") == "rope",
        "swiglu": gated and act in ("silu", "swish"),
        "geglu": gated and act.startswith("gelu"),
        "gelu": not gated and act.startswith("gelu"),
        "gqa": 1 < kv < heads,
        "mqa": kv == 1 < heads,
        "mla": mla,
        "shared_rope_key": mla and "qk_rope_head_dim" in cfg,
        "moe": max((cfg.get(f) or 0) for f in EXPERT_FIELDS) > 1,
        "mtp": (cfg.get("num_nextn_predict_layers") or 0) >= 1,
        "sliding_window": cfg.get("sliding_window") is not None,
    }


def _numbers(model: PublicModel) -> dict[str, float]:
    cfg = model.config
    numbers = {k: float(v) for k, v in cfg.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    numbers["released_yyyymm"] = _yyyymm(model.released, model.name)
    rotary = cfg.get("rotary_pct", cfg.get("partial_rotary_factor", 1.0))
    numbers["rope_fraction"] = float(rotary) if components(model)["rope"] else 0.0
    return numbers


def model_rows(model: PublicModel) -> Iterator[dict[str, Any]]:
    common = dict(arch=model.name, stat="exact", device="formula", dtype="",
                  method=f"published config: {model.source}",
                  extra={"title": model.title, "retrieved": model.retrieved, "released": model.released})
    for field, value in _numbers(model).items():
        yield common | dict(case=field, measure="config", metric="config_value", value=value, unit="value")
    for name, present in components(model).items():
        yield common | dict(case=name, measure="components", metric="has_component", value=float(present),
                            unit="flag", method=f"{common['method']}; reference code: "
                                                f"{model.implementation.get('source', '(none)')}")
    heads = model.config["num_attention_heads"]
    kv = model.config.get("num_key_value_heads") or heads
    yield common | dict(case="gqa_vs_mha", measure="kv_vs_mha", metric="kv_reduction", value=heads / kv,
                        unit="ratio", method=f"num_attention_heads / num_key_value_heads, {model.source}")


def paper_rows(folder: Path = FIXTURES) -> Iterator[dict[str, Any]]:
    raw = _read(folder / "papers.json")
    for paper in raw["papers"]:
        common = dict(arch=f"arxiv:{paper['arxiv']}", stat="exact", device="formula", dtype="",
                      method=f"{raw['source'].replace('<id>', paper['arxiv'])}: {paper['title']}",
                      extra={"title": paper["title"], "authors": paper["authors"]})
        yield common | dict(case="published_yyyymm", measure="paper", metric="config_value", unit="value",
                            value=_yyyymm(paper["published"], paper["arxiv"]))
        for name in paper["introduces"]:
            yield common | dict(case=name, measure="paper", metric="has_component", value=1.0, unit="flag")


def all_rows(ctx: Context) -> Iterator[dict[str, Any]]:
    for model in load_models():
        if ctx.wants_arch(model.name):
            yield from model_rows(model)
    yield from paper_rows()


HEADLINE = Headline(
    title="KV-cache reduction of each public model's attention against MHA, from its published config",
    kind="bars", metric="kv_reduction", x="arch", where={"case": "gqa_vs_mha"}, y_label="MHA's cache ÷ the model's")

SUITE = Suite(
    headline=HEADLINE,
    name="public_models",
    question="Do the public models and papers the documents cite use or introduce what the documents say?",
    plan=lambda ctx: [Unit("fixtures", all_rows)],
    docs=("000", "001", "004"), description=__doc__,
)
