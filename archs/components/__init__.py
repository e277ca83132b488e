"""Building blocks of every decoder. Each module holds one component and the formulas that describe it.

Contract shared by every component (the decoder, the counters and the suites rely on it):

- Mixers (`attention.Attention`, `mla.MLA`, `deltanet.GatedDeltaNet`) are built as `Cls(cfg, spec)` from a
  `DecoderConfig` and the layer's `LayerSpec`, and run as `forward(x, cache=None, doc_ids=None) -> y` with
  x, y: [B, T, D]. `new_cache()` returns an empty decode cache (a `cache.Cache`) which forward fills in place;
  with a cache, forward continues from `cache.pos` (prefill, then one token at a time).
- FFNs (`mlp.MLP`, `moe.MoE`) run as `forward(x) -> y`; an MoE also leaves its load-balance loss in
  `self.aux_loss` (a scalar tensor) after every forward.
- Formulas beside each module, all pure functions of the config (no tensors), used as independent references
  for the module-tree counters and the torch FLOP counter:
    `params_formula(cfg, spec) -> int`
    `flops_formula(cfg, spec, T, causal=True) -> int`   forward FLOPs of one sequence of T tokens (prefill, no
        cache), 2 FLOPs per multiply-add, matmuls only (norms, softmax, activations excluded); causal=True
        halves the T² attention terms (Megatron convention)
    `cache_bytes_formula(cfg, spec, batch, T, dtype_bytes) -> int`   decode state held after T tokens
"""
