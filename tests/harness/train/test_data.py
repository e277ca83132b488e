"""Tests for harness/train/data.py and harness/train/bpe.py: corpora, tokenizers, split, batches, baseline losses."""
import pytest
import torch

from harness.train.data import (BPETokenizer, ByteTokenizer, TokenDataset, load_corpus, split_tokens, unigram_loss,
                          uniform_loss)
from harness.errors import ArchbenchError

SAMPLE = "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer. " * 20


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


def test_default_corpus_is_shakespeare_and_large(corpus):
    assert len(corpus) > 4_000_000 and "HAMLET" in corpus


def test_default_corpus_is_deterministic(corpus):
    assert load_corpus("shakespeare") == corpus


def test_default_corpus_leaves_out_folio_duplicates_and_metadata(corpus):
    assert "[lear_gut]" not in corpus and len(load_corpus("shakespeare-folio")) > len(corpus)


def test_missing_path_error_names_it(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(ArchbenchError, match="nope.txt"):
        load_corpus(str(missing))


def test_empty_file_is_an_error(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(ArchbenchError, match="empty"):
        load_corpus(str(tmp_path / "empty.txt"))


def test_folder_of_txt_files_joins_in_sorted_order(tmp_path):
    (tmp_path / "b.txt").write_text("second")
    (tmp_path / "a.txt").write_text("first")
    assert load_corpus(str(tmp_path)) == "first\n\nsecond\n"


def test_byte_tokenizer_round_trip():
    tok = ByteTokenizer()
    text = "Ay, marry — 'tis naïve\n"
    ids = tok.encode(text)
    assert tok.decode(ids) == text and ids.max() < tok.vocab_size == 256


def test_bpe_round_trip():
    tok = BPETokenizer.train(SAMPLE, vocab_size=300)
    text = "Whether 'tis nobler, or NOT — 1603!\n\n  x"
    assert tok.decode(tok.encode(text)) == text


def test_bpe_compresses():
    tok = BPETokenizer.train(SAMPLE, vocab_size=300)
    assert len(tok.encode(SAMPLE)) < len(SAMPLE.encode()) / 2


def test_bpe_training_is_deterministic():
    assert BPETokenizer.train(SAMPLE, 300).merges == BPETokenizer.train(SAMPLE, 300).merges


def test_bpe_trains_only_on_the_first_max_chars():
    capped = BPETokenizer.train(SAMPLE + "zzzz qqqq " * 500, 300, max_chars=len(SAMPLE))
    assert capped.merges == BPETokenizer.train(SAMPLE, 300).merges


def test_bpe_save_load(tmp_path):
    tok = BPETokenizer.train(SAMPLE, 300)
    tok.save(tmp_path / "bpe.json")
    assert BPETokenizer.load(tmp_path / "bpe.json").encode(SAMPLE).tolist() == tok.encode(SAMPLE).tolist()


def test_split_is_disjoint_and_val_is_last_tenth():
    tokens = torch.arange(1000)
    train, val = split_tokens(tokens)
    assert train.tolist() == list(range(900)) and val.tolist() == list(range(900, 1000))


def test_batches_stay_inside_their_split():
    ds = TokenDataset(torch.arange(1000), block_size=16)
    x, y = ds.batch(0, 64, seed=0, split="train")
    vx, vy = ds.batch(0, 64, seed=0, split="val")
    assert y.max() < 900 and vx.min() >= 900


def test_targets_are_inputs_shifted_by_one():
    x, y = TokenDataset(torch.arange(1000), block_size=16).batch(5, 4)
    assert torch.equal(y[:, :-1], x[:, 1:]) and torch.equal(y[:, -1], x[:, -1] + 1)


def test_batch_is_a_function_of_seed_and_step():
    ds = TokenDataset(torch.arange(10_000), block_size=16)
    ds.batch(0, 8, seed=3)                                    # drawing other batches must not matter
    assert torch.equal(ds.batch(7, 8, seed=3)[0], TokenDataset(torch.arange(10_000), 16).batch(7, 8, seed=3)[0])


def test_different_steps_give_different_batches():
    ds = TokenDataset(torch.arange(10_000), block_size=16)
    assert not torch.equal(ds.batch(1, 8)[0], ds.batch(2, 8)[0])


def test_longer_eval_context_is_allowed():
    x, _ = TokenDataset(torch.arange(10_000), block_size=16).batch(0, 2, split="val", block_size=64)
    assert x.shape == (2, 64)


def test_too_short_split_is_an_error():
    with pytest.raises(ArchbenchError, match="block_size"):
        TokenDataset(torch.arange(100), block_size=16)


def test_unigram_beats_uniform_on_real_text(corpus):
    tok = ByteTokenizer()
    train, val = split_tokens(tok.encode(corpus[:500_000]))
    assert unigram_loss(train, val, tok.vocab_size) < uniform_loss(tok.vocab_size) - 1.0
