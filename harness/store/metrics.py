"""The metric vocabulary: every metric a suite may emit, its unit and which direction is better.

Rows name a metric from this table; claims and report pages look metrics up here for units and direction.
Names follow `<what>_<unit-ish>`. Conventions shared by all suites:
- `case` is the variant compared (e.g. "rmsnorm", "gqa-4kv"); `arch` the preset name for arch-level rows.
- shapes go in the row's `shape` dict with the letters B (batch), T (tokens/context), D (width), H (heads),
  E (experts), L (layers).
- stat "analytic" = from a formula, "exact" = counted from real objects, "median" = timed.
"""
from __future__ import annotations

from dataclasses import dataclass

from harness.errors import ArchbenchError


@dataclass(frozen=True)
class Metric:
    unit: str
    higher_is_better: bool | None      # None: neither (a size, a count)
    help: str


METRICS: dict[str, Metric] = {
    # parameters (suite params_flops); per-kind counts are params_<kind> (attention, gdn, moe_experts, ...)
    "params_total": Metric("params", None, "all parameters, each tensor once"),
    "params_active": Metric("params", None, "dense + router + shared + routed·top_k/E"),
    "params_non_embedding": Metric("params", None, "without embedding, positions and output head"),
    "params_without_input_embedding": Metric("params", None, "without the input embedding table"),
    "params_kind": Metric("params", None, "parameters of one component kind (kind in extra.kind)"),
    "model_bytes": Metric("bytes", None, "weights at a stated precision (precision in extra)"),
    # FLOPs (suite params_flops)
    "flops_fwd_per_token": Metric("FLOP", None, "forward FLOPs per token at context T"),
    "flops_train_per_token": Metric("FLOP", None, "training FLOPs per token (3 × forward incl. MTP)"),
    "flops_fwd": Metric("FLOP", None, "forward FLOPs of one call at the row's shape"),
    "flops_rel_diff": Metric("ratio", None, "(counter - analytic) / analytic"),
    "meta_analysis_s": Metric("s", False, "wall time to build on meta and count params + FLOPs"),
    "meta_analysis_rss_bytes": Metric("bytes", False, "peak RSS growth of the meta analysis"),
    # decode state (suite kv_cache)
    "kv_bytes": Metric("bytes", False, "decode state after T tokens at batch B"),
    "kv_bytes_per_token": Metric("bytes", False, "decode state per token per sequence, all layers"),
    # memory (suite memory)
    "peak_bytes": Metric("bytes", False, "peak allocated memory of the phase (phase in extra)"),
    "train_memory_bytes": Metric("bytes", False, "analytic training memory (part in extra.part)"),
    # time (component and throughput suites)
    "latency_fwd_s": Metric("s", False, "forward time of one call"),
    "latency_fwdbwd_s": Metric("s", False, "forward + backward time of one call"),
    "latency_decode_s": Metric("s", False, "time of one decode step (one new token)"),
    "tokens_per_s": Metric("tokens/s", True, "throughput (phase in extra: prefill, decode, train)"),
    "bandwidth_bytes_per_s": Metric("bytes/s", True, "achieved memory bandwidth"),
    "decode_bytes_per_token": Metric("bytes", None, "bytes a decode step must move per new token: cache read and "
                                                    "written plus weights, over the batch (suite decode)"),
    "flops_per_s": Metric("FLOP/s", True, "achieved FLOP rate"),
    "roofline_fraction": Metric("ratio", True, "achieved / this machine's measured peak"),
    "speedup": Metric("ratio", True, "time(base) / time(new); >1 means new is faster (CI in q1/q3)"),
    "scaling_exponent": Metric("exponent", None, "log-log slope of time or memory vs T (CI in q1/q3)"),
    "crossover_T": Metric("tokens", None, "sequence length where one mixer becomes faster than another"),
    "kv_reduction": Metric("ratio", True, "decode-state bytes of the baseline / of the variant"),
    "rel_error": Metric("ratio", False, "relative RMSE of a fast path or re-implementation vs reference"),
    # learning (suite loss_curves)
    "train_loss": Metric("nats", False, "training cross-entropy at a step"),
    "val_loss": Metric("nats", False, "validation cross-entropy at a step"),
    "loss_at_step": Metric("nats", False, "validation loss at a fixed step (step in shape)"),
    "reference_loss": Metric("nats", False, "uniform / unigram loss on the same data, for scale"),
    "tv_distance": Metric("ratio", False, "total-variation distance between two distributions"),
    "padding_efficiency": Metric("ratio", True, "real tokens / padded tokens"),
    "activation_bytes": Metric("bytes", False, "bytes autograd keeps for the backward pass (saved-tensor hooks)"),
    "count": Metric("count", None, "a count of events or items (what is counted in case and method)"),
    "signal_scale": Metric("ratio", None, "RMS of a signal after a stack of layers / before it"),
    # published models and papers (suite public_models)
    "config_value": Metric("value", None, "a number from a published model configuration (field in case)"),
    "has_component": Metric("flag", None, "1 if the published model or paper has the component in case, else 0"),
    # distributed (suite distributed)
    "comm_bytes": Metric("bytes", False, "bytes sent per rank per step"),
    "memory_per_rank_bytes": Metric("bytes", False, "per-rank memory (part in extra.part)"),
}


def metric(name: str) -> Metric:
    if name.startswith("params_") and name not in METRICS:
        return METRICS["params_kind"]
    if name not in METRICS:
        raise ArchbenchError(f"unknown metric {name!r}")
    return METRICS[name]
