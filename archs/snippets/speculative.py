"""Speculative decoding: the standard rejection-sampling rule vs the Nexus Core document's (002) threshold loop.

Standard rule (Leviathan et al. 2023, Chen et al. 2023), `standard_speculative_step`: the draft proposes
x_1..x_k from q; the target scores every prefix at once, giving p_1..p_{k+1}. Token x_i is accepted with
probability min(1, p_i(x_i) / q_i(x_i)); at the first rejection a replacement is drawn from the residual
norm(max(0, p_i − q_i)) and the step ends; if all k are accepted a bonus token is drawn from p_{k+1}. Every
emitted token is then distributed exactly as if sampled from the target alone.

Document's rule, `doc_speculative_step`: accept x_i when p_i(x_i) > threshold (a constant the document does
not give), otherwise draw a replacement from the full p_i (not the residual) and stop; no bonus token. The
draft's own probabilities are never used, so the output distribution depends on the draft model: tokens the
draft likes that clear the threshold are over-represented. Even a perfect draft (q = p) is biased unless
every token has p > threshold, because the replacement is drawn from p instead of the residual.

Toy setting for Monte Carlo checks: a Markov chain over a small vocabulary, target and draft being two
[V, V] transition matrices (row = previous token). Everything is vectorised over n samples.
Shapes: p_target [n, k+1, V], p_draft [n, k, V], draft_tokens [n, k]; steps return tokens [n, k+1] padded
with -1 and the count of emitted tokens [n].
"""
from __future__ import annotations

import torch


def toy_chains(vocab: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(target, draft) transition matrices [V, V]. The draft is a weaker, noisier copy of the target
    (half the target's logits plus unit noise), so the two disagree noticeably but not completely."""
    g = torch.Generator().manual_seed(seed)
    target_logits = 1.5 * torch.randn(vocab, vocab, generator=g)
    draft_logits = 0.5 * target_logits + torch.randn(vocab, vocab, generator=g)
    return target_logits.softmax(-1), draft_logits.softmax(-1)


def _sample(probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One draw per row of probs [n, V] -> [n]."""
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def draft_and_score(target: torch.Tensor, draft: torch.Tensor, context: torch.Tensor, k: int,
                    generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Draft k tokens from `draft` starting after `context` [n], and the target's distribution at each prefix.

    Returns p_target [n, k+1, V] (position i conditioned on context and x_1..x_i), p_draft [n, k, V],
    draft_tokens [n, k].
    """
    prev = context
    p_t, p_d, toks = [], [], []
    for _ in range(k):
        q = draft[prev]
        x = _sample(q, generator)
        p_t.append(target[prev])
        p_d.append(q)
        toks.append(x)
        prev = x
    p_t.append(target[prev])  # the distribution of the bonus token, after all k drafts
    return torch.stack(p_t, 1), torch.stack(p_d, 1), torch.stack(toks, 1)


def _first_false(accept: torch.Tensor) -> torch.Tensor:
    """Index of the first False in each row of accept [n, k]; k if the row is all True."""
    k = accept.shape[1]
    idx = torch.arange(k).expand_as(accept)
    return torch.where(~accept, idx, torch.full_like(idx, k)).amin(1)


def _assemble(draft_tokens: torch.Tensor, n_acc: torch.Tensor, last: torch.Tensor) -> tuple:
    """Accepted drafts followed by `last` (or nothing where last is -1); pad with -1."""
    n, k = draft_tokens.shape
    out = torch.full((n, k + 1), -1, dtype=torch.long)
    pos = torch.arange(k + 1).expand(n, -1)
    out[:, :k] = torch.where(pos[:, :k] < n_acc[:, None], draft_tokens, out[:, :k])
    rows = torch.arange(n)
    has_last = last >= 0
    out[rows[has_last], n_acc[has_last]] = last[has_last]
    return out, n_acc + has_last.long()


def standard_speculative_step(p_target: torch.Tensor, p_draft: torch.Tensor, draft_tokens: torch.Tensor,
                              generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Speculative sampling with the min(1, p/q) acceptance and residual resampling; always emits >= 1 token."""
    n, k = draft_tokens.shape
    idx = draft_tokens[..., None]
    p_x = p_target[:, :k].gather(-1, idx).squeeze(-1)
    q_x = p_draft.gather(-1, idx).squeeze(-1)
    u = torch.rand(n, k, generator=generator)
    accept = u * q_x < p_x  # u < p/q without dividing; q_x > 0 because x was drawn from q
    n_acc = _first_false(accept)
    rows = torch.arange(n)
    at = n_acc.clamp(max=k - 1)
    residual = (p_target[rows, at] - p_draft[rows, at]).clamp_min(0)
    # a rejection implies p(x) < q(x) somewhere, so the residual has mass; the fallback to p only avoids a
    # 0/0 in rows where it is unused (all accepted) or mass is lost to rounding
    residual = torch.where(residual.sum(-1, keepdim=True) > 0, residual, p_target[rows, at])
    replacement = _sample(residual, generator)
    bonus = _sample(p_target[:, k], generator)
    last = torch.where(n_acc < k, replacement, bonus)
    return _assemble(draft_tokens, n_acc, last)


def doc_speculative_step(p_target: torch.Tensor, p_draft: torch.Tensor, draft_tokens: torch.Tensor,
                         generator: torch.Generator, threshold: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """Document 002's loop: keep x_i while p_i(x_i) > threshold; at the first failure emit a fresh draw from
    p_i and stop; no bonus token when all pass. `p_draft` is accepted for a common signature and ignored,
    as in the document."""
    del p_draft
    n, k = draft_tokens.shape
    p_x = p_target[:, :k].gather(-1, draft_tokens[..., None]).squeeze(-1)
    n_acc = _first_false(p_x > threshold)
    rows = torch.arange(n)
    replacement = _sample(p_target[rows, n_acc.clamp(max=k - 1)], generator)
    last = torch.where(n_acc < k, replacement, torch.full_like(replacement, -1))
    return _assemble(draft_tokens, n_acc, last)


STEPS = {"standard": standard_speculative_step, "doc": doc_speculative_step}


def generate(method: str, target: torch.Tensor, draft: torch.Tensor, context: int, n_tokens: int, k: int,
             n_samples: int, seed: int, threshold: float = 0.1) -> tuple[torch.Tensor, float]:
    """Run speculative steps until every one of n_samples sequences has n_tokens tokens after `context`.

    Returns (tokens [n_samples, n_tokens], mean tokens emitted per step — the speed-up the method promises).
    """
    if method not in STEPS:
        raise ValueError(f"unknown method {method!r}; expected one of {sorted(STEPS)}")
    g = torch.Generator().manual_seed(seed)
    extra = {"threshold": threshold} if method == "doc" else {}
    out = torch.full((n_samples, n_tokens), -1, dtype=torch.long)
    have = torch.zeros(n_samples, dtype=torch.long)
    prev = torch.full((n_samples,), context, dtype=torch.long)
    emitted, steps = 0, 0
    while (have < n_tokens).any():
        todo = (have < n_tokens).nonzero().squeeze(-1)
        p_t, p_d, x = draft_and_score(target, draft, prev[todo], k, g)
        toks, count = STEPS[method](p_t, p_d, x, g, **extra)
        emitted += int(count.sum())
        steps += len(todo)
        for j in range(k + 1):  # copy the step's tokens while the sequence still needs them
            take = (j < count) & (have[todo] < n_tokens)
            rows = todo[take]
            out[rows, have[rows]] = toks[take, j]
            prev[rows] = toks[take, j]
            have[rows] += 1
    return out, emitted / steps


def target_joint(target: torch.Tensor, context: int, n_tokens: int) -> torch.Tensor:
    """Exact probability of every sequence of n_tokens after `context` under the target chain, flat [V**n]
    (index = base-V number whose digits are the tokens, first token most significant)."""
    v = target.shape[0]
    probs = target[context].clone()
    for _ in range(n_tokens - 1):
        last = torch.arange(probs.numel()) % v  # last token of each flat sequence index
        probs = (probs[:, None] * target[last]).reshape(-1)
    return probs


def empirical_joint(tokens: torch.Tensor, vocab: int) -> torch.Tensor:
    """Frequency of every sequence in tokens [n, m], flat [V**m] with the same base-V indexing."""
    flat = torch.zeros(tokens.shape[0], dtype=torch.long)
    for j in range(tokens.shape[1]):
        flat = flat * vocab + tokens[:, j]
    return torch.bincount(flat, minlength=vocab ** tokens.shape[1]).double() / tokens.shape[0]


def total_variation(p: torch.Tensor, q: torch.Tensor) -> float:
    return 0.5 * float((p.double() - q.double()).abs().sum())


def output_distribution_shift(method: str, target: torch.Tensor, draft: torch.Tensor, context: int = 0,
                              n_tokens: int = 1, k: int = 4, n_samples: int = 50_000, seed: int = 0,
                              threshold: float = 0.1) -> float:
    """Total variation distance between the method's output distribution of the first n_tokens tokens after
    `context` (Monte Carlo, n_samples) and the target chain's exact distribution. 0 = unbiased."""
    tokens, _ = generate(method, target, draft, context, n_tokens, k, n_samples, seed, threshold)
    return total_variation(empirical_joint(tokens, target.shape[0]), target_joint(target, context, n_tokens))


def doc_first_token_exact(p: torch.Tensor, q: torch.Tensor, threshold: float) -> torch.Tensor:
    """Closed form of the document's first-token distribution, for target p [V] and draft q [V]:
    the draft's token when it clears the threshold, else a fresh draw from p:
        P(x) = q(x)·[p(x) > τ] + (Σ_y q(y)·[p(y) ≤ τ]) · p(x)."""
    passes = p > threshold
    return q * passes + (q * ~passes).sum() * p
