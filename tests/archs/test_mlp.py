"""Feed-forward blocks against hand-written formulas, and their parameter and FLOP formulas."""
import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from archs.components.mlp import MLP, matched_hidden, mlp_flops, mlp_params
from archs.config import swiglu_hidden

ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu, "relu2": lambda h: F.relu(h) ** 2}


def test_swiglu_equals_its_formula():
    mlp, x = MLP(16, 24, "swiglu"), torch.randn(3, 16)
    expected = (F.silu(x @ mlp.gate.weight.T) * (x @ mlp.up.weight.T)) @ mlp.down.weight.T
    torch.testing.assert_close(mlp(x), expected)


@pytest.mark.parametrize("kind", ACTIVATIONS)
def test_two_matrix_mlps_equal_their_formula(kind):
    mlp, x = MLP(16, 24, kind, bias=True), torch.randn(3, 16)
    h = ACTIVATIONS[kind](x @ mlp.up.weight.T + mlp.up.bias)
    torch.testing.assert_close(mlp(x), h @ mlp.down.weight.T + mlp.down.bias)


@pytest.mark.parametrize("kind", ["swiglu", "gelu", "relu", "relu2"])
@pytest.mark.parametrize("bias", [False, True])
def test_param_formula_counts_the_module(kind, bias):
    assert mlp_params(32, 48, kind, bias) == sum(p.numel() for p in MLP(32, 48, kind, bias).parameters())


@pytest.mark.parametrize("kind", ["swiglu", "gelu"])
def test_flop_formula_equals_torch_counter(kind):
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        MLP(32, 48, kind)(torch.randn(10, 32))
    assert counter.get_total_flops() == mlp_flops(32, 48, kind, tokens=10)


def test_matched_hidden_gives_equal_parameters():
    assert mlp_params(64, matched_hidden(64, 264, "swiglu"), "swiglu") == mlp_params(64, 264, "gelu")


def test_swiglu_default_width_is_two_thirds_of_four_d_rounded_up():
    assert swiglu_hidden(768) == 2048 and swiglu_hidden(4096) == 11008
