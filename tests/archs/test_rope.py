"""Position encodings against independent references: RoPE as complex rotation, the sinusoidal table by its
definition, and the properties that make RoPE relative."""
import math

import pytest
import torch

from archs.components.rope import LearnedPositions, RotaryEmbedding, SinusoidalPositions, sinusoidal_table


def rope_complex(x, start, theta=10000.0):
    """Reference: pair feature i with i + K/2 (rotate-half layout) and multiply by e^{i·pos·θ_i}."""
    K = x.shape[-1]
    pos = torch.arange(start, start + x.shape[-2], dtype=torch.float64)
    freqs = theta ** (-torch.arange(0, K, 2, dtype=torch.float64) / K)
    z = torch.complex(x[..., : K // 2].double(), x[..., K // 2:].double()) * torch.polar(
        torch.ones(len(pos), K // 2, dtype=torch.float64), torch.outer(pos, freqs))
    return torch.cat([z.real, z.imag], dim=-1).float()


@pytest.mark.parametrize("start", [0, 17])
def test_rope_equals_complex_rotation(start):
    x = torch.randn(2, 3, 11, 16)
    torch.testing.assert_close(RotaryEmbedding(16)(x, start), rope_complex(x, start), rtol=1e-5, atol=1e-5)


def test_partial_rope_leaves_the_tail_untouched():
    x = torch.randn(1, 2, 9, 16)
    out = RotaryEmbedding(8)(x, 5)
    torch.testing.assert_close(out[..., 8:], x[..., 8:], rtol=0, atol=0)
    torch.testing.assert_close(out[..., :8], rope_complex(x[..., :8], 5), rtol=1e-5, atol=1e-5)


def test_rope_scores_depend_only_on_the_relative_position():
    rope = RotaryEmbedding(32)
    q, k = torch.randn(1, 1, 1, 32), torch.randn(1, 1, 1, 32)
    score = lambda i, j: (rope(q, i) * rope(k, j)).sum()               # noqa: E731
    torch.testing.assert_close(score(10, 3), score(110, 103), rtol=1e-4, atol=1e-4)
    assert not torch.allclose(score(10, 3), score(10, 4), atol=1e-3)


def test_cached_start_position_matches_a_full_sequence():
    rope, x = RotaryEmbedding(8), torch.randn(1, 1, 12, 8)
    torch.testing.assert_close(rope(x)[..., 7:, :], rope(x[..., 7:, :], 7))


def test_sinusoidal_table_matches_its_definition():
    table = sinusoidal_table(6, 8)
    for pos in range(6):
        for i in range(4):
            angle = pos / 10000 ** (2 * i / 8)
            assert table[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert table[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


def test_sinusoidal_positions_scale_embeddings_then_add_the_table():
    x = torch.randn(2, 5, 16)
    torch.testing.assert_close(SinusoidalPositions(16)(x, 3), x * 4 + sinusoidal_table(5, 16, 3))


def test_learned_positions_refuse_positions_past_the_table():
    pos = LearnedPositions(8, max_seq_len=4)
    assert pos(torch.zeros(1, 4, 8)).shape == (1, 4, 8)
    with pytest.raises(ValueError, match="position 4 is past the learned table"):
        pos(torch.zeros(1, 5, 8))
