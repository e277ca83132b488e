"""Training as a kind of measuring: the trainer, corpora and tokenizers, evaluation."""
