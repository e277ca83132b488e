"""RMSNorm against its formula and torch's kernel; the eager composite LayerNorm against torch's kernel."""
import torch

from archs.components import build_norm, norm_params
from archs.components.norms import CompositeLayerNorm, RMSNorm


def test_rmsnorm_equals_the_documented_formula():
    torch.manual_seed(0)
    norm = RMSNorm(48, eps=1e-6)
    norm.weight.data = torch.randn(48)
    x = torch.randn(3, 5, 48)
    expected = norm.weight * (x / torch.sqrt((x ** 2).mean(-1, keepdim=True) + 1e-6))   # documents 000 / 001
    torch.testing.assert_close(norm(x), expected, rtol=1e-6, atol=1e-6)


def test_rmsnorm_equals_torch_rms_norm():
    x, w = torch.randn(4, 64), torch.randn(64)
    norm = RMSNorm(64)
    norm.weight.data = w
    torch.testing.assert_close(norm(x), torch.nn.functional.rms_norm(x, (64,), w, eps=1e-6))


def test_rmsnorm_default_eps_is_the_documents_1e_minus_6():
    assert RMSNorm(8).eps == 1e-6


def test_rmsnorm_normalises_bf16_inputs_in_fp32_like_llama():
    x = (torch.randn(2, 256) * 300).bfloat16()
    norm = RMSNorm(256)
    norm.weight.data = torch.randn(256)
    xf = x.float()
    expected = (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + 1e-6)).bfloat16() * norm.weight
    torch.testing.assert_close(norm(x), expected, rtol=0, atol=0)    # same ops, same order: bit-identical


def test_norm_parameter_counts():
    assert norm_params("rms", 768) == sum(p.numel() for p in build_norm("rms", 768).parameters()) == 768
    assert norm_params("layer", 768) == sum(p.numel() for p in build_norm("layer", 768).parameters()) == 1536


def test_composite_layernorm_equals_torch_layer_norm():
    """The eager composite (the equal-effort counterpart of RMSNorm) against torch's fused kernel, affine included."""
    torch.manual_seed(0)
    x = 3 * torch.randn(4, 7, 96) + 1.5
    composite = CompositeLayerNorm(96, eps=1e-6)
    with torch.no_grad():
        composite.weight.normal_()
        composite.bias.normal_()
    expected = torch.nn.functional.layer_norm(x, (96,), composite.weight, composite.bias, 1e-6)
    torch.testing.assert_close(composite(x), expected, rtol=1e-5, atol=1e-5)
    assert sum(p.numel() for p in composite.parameters()) == 2 * 96
