"""Tests for harness/train/trainer.py and harness/train/evaluation.py, on a tiny position-free stand-in model."""
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from harness.train.data import ByteTokenizer, TokenDataset, load_corpus
from harness.errors import ArchbenchError, ConfigError
from harness.train.trainer import TrainConfig, evaluate, lr_at, position_losses, seed_everything, train


class TinyLM(nn.Module):
    """Same interface as archs' decoders; causal conv mixing, no positions: runs at any context length."""

    def __init__(self, vocab=256, dim=32, kernel=4, dropout=0.1):
        super().__init__()
        self.kernel = kernel
        self.emb = nn.Embedding(vocab, dim)
        self.conv = nn.Conv1d(dim, dim, kernel, groups=dim)
        self.mlp = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(dim, vocab)

    def forward(self, idx):
        h = self.emb(idx)
        h = h + self.conv(F.pad(h.transpose(1, 2), (self.kernel - 1, 0))).transpose(1, 2)
        h = h + self.drop(self.mlp(h))
        return SimpleNamespace(logits=self.head(h))

    def loss(self, idx, targets):
        logits = self(idx).logits
        lm = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        zero = torch.zeros((), device=idx.device)
        return {"loss": lm, "lm": lm, "aux": zero, "mtp": zero}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny ops gain nothing from threads, and on a shared 2-core box OpenMP spin-waits make them slow."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def dataset():
    return TokenDataset(ByteTokenizer().encode(load_corpus()[:200_000]), block_size=32)


def model():
    seed_everything(0)
    return TinyLM()


def cfg(**kw):
    base = dict(steps=30, batch_size=8, block_size=32, lr=1e-2, warmup_steps=5, eval_every=10, eval_batches=2,
                progress=False)
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def full(dataset):
    """The uninterrupted reference run."""
    return train(model(), dataset, cfg())


def curve(records):
    """Everything but wall time, which legitimately differs between runs."""
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in records]


def test_loss_decreases(full):
    s = full
    losses = [r["train_loss"] for r in s.records if r["split"] == "train"]
    assert sum(losses[-5:]) / 5 < losses[0] - 1.0 and s.final_val_loss < math.log(256) - 1.0


def test_records_have_the_documented_fields(dataset):
    seen = []
    train(model(), dataset, cfg(steps=10), on_record=seen.append, flops_per_token=100.0)
    step = seen[0]
    assert set(step) == {"split", "step", "tokens", "flops", "wall_s", "train_loss", "lm", "aux", "mtp", "lr",
                         "grad_norm"}
    assert (step["step"], step["tokens"], step["flops"]) == (1, 8 * 32, 8 * 32 * 100.0)
    assert seen[-1]["split"] == "val" and seen[-1]["step"] == 10 and "val_loss" in seen[-1]


def test_flops_is_none_without_flops_per_token(dataset):
    assert train(model(), dataset, cfg(steps=2)).records[0]["flops"] is None


def test_eval_cadence(dataset):
    s = train(model(), dataset, cfg(steps=25, eval_every=10))
    assert [r["step"] for r in s.records if r["split"] == "val"] == [10, 20, 25]


def test_same_seed_gives_identical_curve(dataset, full):
    assert curve(train(model(), dataset, cfg()).records) == curve(full.records)


def test_different_seed_gives_different_curve(dataset):
    assert curve(train(model(), dataset, cfg(steps=5)).records) != curve(train(model(), dataset,
                                                                               cfg(steps=5, seed=1)).records)


def test_resume_after_stop_equals_uninterrupted_run(dataset, full, tmp_path):
    c = cfg(checkpoint_every=5, checkpoint_path=str(tmp_path / "ck.pt"))
    first = train(model(), dataset, c, stop_at=12)
    resumed = train(model(), dataset, c)
    assert first.steps == 12 and resumed.resumed_from == 12
    assert curve(resumed.records) == curve(full.records)


def test_resume_after_crash_equals_uninterrupted_run(dataset, full, tmp_path):
    c = cfg(checkpoint_every=5, checkpoint_path=str(tmp_path / "ck.pt"))

    def crash(record):
        if record["step"] == 13:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(model(), dataset, c, on_record=crash)
    resumed = train(model(), dataset, c)
    assert resumed.resumed_from == 10 and curve(resumed.records) == curve(full.records)


def test_resume_refuses_a_checkpoint_from_another_config(dataset, tmp_path):
    path = str(tmp_path / "ck.pt")
    train(model(), dataset, cfg(checkpoint_path=path), stop_at=3)
    with pytest.raises(ArchbenchError, match="steps 30 != 60"):
        train(model(), dataset, cfg(steps=60, checkpoint_path=path))


def test_a_corrupt_checkpoint_is_one_line_that_keeps_its_hint(dataset, tmp_path):
    path = tmp_path / "ck.pt"
    path.write_bytes(b"not a checkpoint" * 8)
    with pytest.raises(ArchbenchError) as err:
        train(model(), dataset, cfg(checkpoint_path=str(path)))
    assert "\n" not in str(err.value) and str(err.value).endswith("(resume=False; archbench run --redo)")
    assert train(model(), dataset, cfg(steps=2, checkpoint_path=str(path)), resume=False).resumed_from == 0


def test_resume_false_starts_fresh(dataset, tmp_path):
    path = str(tmp_path / "ck.pt")
    train(model(), dataset, cfg(checkpoint_path=path), stop_at=3)
    assert train(model(), dataset, cfg(steps=5, checkpoint_path=path), resume=False).resumed_from == 0


def test_lr_schedule_peaks_at_warmup_end_and_ends_at_min():
    c = cfg(steps=100, warmup_steps=10, lr=1.0, min_lr_frac=0.1)
    assert lr_at(0, c) == pytest.approx(0.1) and lr_at(9, c) == pytest.approx(1.0)
    assert lr_at(99, c) == pytest.approx(0.1) and lr_at(10, c) < 1.0


def test_lr_schedule_midpoint_of_cosine():
    c = cfg(steps=110, warmup_steps=10, lr=1.0, min_lr_frac=0.0)
    assert lr_at(59, c) == pytest.approx(0.5)


def test_recorded_lr_follows_schedule(dataset):
    c = cfg(steps=6, warmup_steps=3)
    lrs = [r["lr"] for r in train(model(), dataset, c).records if r["split"] == "train"]
    assert lrs == [lr_at(i, c) for i in range(6)]


def test_grad_norm_is_recorded_before_clipping(dataset):
    clipped = train(model(), dataset, cfg(steps=1, grad_clip=1e-3)).records[0]["grad_norm"]
    assert clipped == train(model(), dataset, cfg(steps=1, grad_clip=None)).records[0]["grad_norm"] > 1e-2


def test_clipping_changes_the_update(dataset):
    loss = lambda clip: train(model(), dataset, cfg(steps=3, grad_clip=clip)).records[2]["train_loss"]
    assert loss(1e-3) != loss(None)


def test_train_reseeds_torch_with_cfg_seed(dataset):
    first = model()
    torch.rand(1000)                                   # randomness between build and train must not matter
    a = train(first, dataset, cfg(steps=5)).records
    assert curve(a) == curve(train(model(), dataset, cfg(steps=5)).records)


def test_diverging_run_stops_and_is_flagged(dataset):
    class Nan(TinyLM):
        def loss(self, idx, targets):
            out = super().loss(idx, targets)
            return {**out, "loss": out["loss"] * float("nan")}

    seed_everything(0)
    s = train(Nan(), dataset, cfg())
    assert s.diverged and s.steps == 1


def test_eval_at_twice_the_training_context(dataset):
    m = model()
    train(m, dataset, cfg(steps=5))
    per_pos = position_losses(m, dataset, "val", batches=2, block_size=64)
    assert per_pos.shape == (64,) and math.isfinite(evaluate(m, dataset, "val", batches=2, block_size=64))


def test_eval_restores_training_mode(dataset):
    m = model()
    evaluate(m, dataset, batches=1)
    assert m.training


def test_config_errors_name_the_field():
    with pytest.raises(ConfigError, match="warmup_steps"):
        TrainConfig(warmup_steps=-1)


def test_weight_decay_only_on_matrices():
    from harness.train.trainer import _optimizer
    decayed, plain = _optimizer(TinyLM(), cfg()).param_groups
    assert all(p.dim() >= 2 for p in decayed["params"]) and all(p.dim() < 2 for p in plain["params"])
    assert decayed["weight_decay"] > 0 and plain["weight_decay"] == 0


def test_checkpoint_write_leaves_no_temporary_file(dataset, tmp_path):
    train(model(), dataset, cfg(steps=4, checkpoint_every=2, checkpoint_path=str(tmp_path / "ck.pt")))
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]
