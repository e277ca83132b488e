"""Gated delta rule (Gated DeltaNet's token mixer): per-token reference, chunk-parallel form, decode step."""
from archs.ops.gated_delta.chunk import chunk_gated_delta_rule
from archs.ops.gated_delta.naive import naive_recurrent_gated_delta_rule
from archs.ops.gated_delta.recurrent import recurrent_gated_delta_step

__all__ = ["chunk_gated_delta_rule", "naive_recurrent_gated_delta_rule", "recurrent_gated_delta_step"]
