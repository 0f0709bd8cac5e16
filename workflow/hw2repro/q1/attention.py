"""Q1: exact softmax attention and its Taylor-feature linear approximation.

exp(t) ≈ Σ_{n<K} tⁿ/n!  ("K Taylor terms"; the homework uses K = 3: 1 + t + t²/2).
A feature map φ with φ(q)ᵀφ(k) = Σ_{n<K} (qᵀk)ⁿ/n! turns attention into
    Z ≈ D⁻¹ Φ(Q) (Φ(K)ᵀ V),   D = Diag(Φ(Q) (Φ(K)ᵀ 1_L)),
which costs O(L·M·D) instead of O(L²·D) when the bracket is evaluated first.

Two exact constructions of φ (both appear in the student reports):
  * "full":      the n-th block is vec(x^{⊗n})/√n!; <x^{⊗n}, y^{⊗n}> = (xᵀy)ⁿ, so M = Σ Dⁿ.
  * "symmetric": the n-th block holds each monomial x^α (|α| = n) once, scaled by 1/√α!;
                 by the multinomial theorem Σ_α x^α y^α/α! = (xᵀy)ⁿ/n!, so M = C(D+K-1, K-1).
All functions accept leading batch dimensions (..., L, D).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from functools import cache

import torch

from .dims import check_construction


# ----------------------------------------------------------------------------- feature maps
def phi_full(x: torch.Tensor, k: int) -> torch.Tensor:
    """[1, x, vec(x⊗x)/√2!, vec(x⊗x⊗x)/√3!, ...] up to degree K-1."""
    blocks = [torch.ones_like(x[..., :1])]
    term = blocks[0]
    for n in range(1, k):
        # Dividing by √n at each step accumulates the 1/√n! of the n-th block.
        term = (term.unsqueeze(-1) * x.unsqueeze(-2)).flatten(-2) / math.sqrt(n)
        blocks.append(term)
    return torch.cat(blocks, dim=-1)


@cache
def _monomials(d: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """For degree n: where each monomial sits in (degree n-1 monomials) ⊗ x, and its 1/√α!.

    Monomials are sorted index tuples i1 ≤ ... ≤ in, in lexicographic order. Each is a degree
    n-1 monomial times x_in with in ≥ its last index, so the whole degree-n block is one outer
    product with the previous block followed by one column selection (cheap, no gathers of
    n-tuples).
    """
    previous = {t: i for i, t in enumerate(itertools.combinations_with_replacement(range(d), n - 1))}
    combos = list(itertools.combinations_with_replacement(range(d), n))
    select = torch.tensor([previous[t[:-1]] * d + t[-1] for t in combos], dtype=torch.long)
    weight = torch.tensor(
        [1.0 / math.sqrt(math.prod(math.factorial(c) for c in _multiplicities(t))) for t in combos],
        dtype=torch.float64,
    )
    return select, weight


def _multiplicities(combo: tuple[int, ...]) -> list[int]:
    return [len(list(group)) for _, group in itertools.groupby(combo)]


def phi_symmetric(x: torch.Tensor, k: int) -> torch.Tensor:
    """Each monomial once: [1, x_i, x_i²/√2, x_i x_j (i<j), ...] up to degree K-1."""
    d = x.shape[-1]
    blocks = [torch.ones_like(x[..., :1])]
    plain = blocks[0]  # unweighted monomials of the previous degree
    for n in range(1, k):
        select, weight = _monomials(d, n)
        plain = (plain.unsqueeze(-1) * x.unsqueeze(-2)).flatten(-2).index_select(-1, select)
        blocks.append(plain * weight.to(x.dtype))
    return torch.cat(blocks, dim=-1)


def feature_map(construction: str, k: int) -> Callable[[torch.Tensor], torch.Tensor]:
    fn = {"full": phi_full, "symmetric": phi_symmetric}[check_construction(construction)]
    return lambda x: fn(x, k)


def taylor_kernel(t: torch.Tensor, k: int) -> torch.Tensor:
    """The truncated series Σ_{n<K} tⁿ/n! that φ(q)ᵀφ(k) must reproduce."""
    return sum(t**n / math.factorial(n) for n in range(k))


# ----------------------------------------------------------------------------- attention
def exact_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(Q Kᵀ) V (no 1/√D, as in the homework); forms the L×L matrix once.

    Row-max subtraction keeps exp finite at large scales; exp and the row sums are done in
    place and the normalisation is applied to the L×D result, so the peak is one L×L buffer,
    i.e. the honest O(L²) of the exact form and not 2-3 copies of it.
    """
    scores = q @ k.transpose(-2, -1)
    scores.sub_(scores.amax(dim=-1, keepdim=True)).exp_()
    return (scores @ v) / scores.sum(dim=-1, keepdim=True)


def linear_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    phi: Callable[[torch.Tensor], torch.Tensor],
    return_normalizer: bool = False,
):
    """D⁻¹ Φ(Q) (Φ(K)ᵀ V) in the linear-cost order: no L×L tensor is ever formed.

    Φ(K)ᵀV (M×D) and Φ(K)ᵀ1 (M) are reduced over L first; each query then costs O(M·D).
    """
    phi_q, phi_k = phi(q), phi(k)
    kv = phi_k.transpose(-2, -1) @ v  # (..., M, D)
    k_sum = phi_k.sum(dim=-2, keepdim=True).transpose(-2, -1)  # (..., M, 1) = Φ(K)ᵀ 1_L
    normalizer = phi_q @ k_sum  # (..., L, 1): the diagonal of D
    z = (phi_q @ kv) / normalizer
    return (z, normalizer.squeeze(-1)) if return_normalizer else z


def quadratic_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, phi: Callable[[torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """The same approximation in the quadratic order D⁻¹ (Φ(Q) Φ(K)ᵀ) V (reference only)."""
    a = phi(q) @ phi(k).transpose(-2, -1)
    return (a @ v) / a.sum(dim=-1, keepdim=True)


def scaled_inputs(
    l: int, d: int, scale: float, generator: torch.Generator, dtype=torch.float64
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Q, K, V with entries N(0, 1) scaled so that std(qᵀk) = ``scale``.

    qᵀk of two N(0, σ²) vectors has std σ²·√D, so σ = √(scale/√D) puts the scale on qᵀk itself,
    the quantity whose size decides how good a truncated Taylor series of exp is.
    """
    sigma = math.sqrt(scale / math.sqrt(d))
    q, k, v = (torch.randn(l, d, generator=generator, dtype=dtype) for _ in range(3))
    return q * sigma, k * sigma, v
