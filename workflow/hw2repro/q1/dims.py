"""Q1: how many features each Taylor feature map has (counting only: no torch, so the figure job
that plots M against D does not import it).

M(D, K) of the two constructions described in ``attention``: the outer-product map ("full") has
Σ_{n<K} Dⁿ features, the monomial map ("symmetric") C(D+K-1, K-1).
"""

from __future__ import annotations

import math

CONSTRUCTIONS = ("full", "symmetric")


def m_full(d: int, k: int) -> int:
    """M of the outer-product map: Σ_{n=0}^{K-1} Dⁿ (1 + D + D² for the homework's K = 3)."""
    return sum(d**n for n in range(k))


def m_symmetric(d: int, k: int) -> int:
    """M of the monomial map: Σ_{n<K} C(n+D-1, n), which telescopes to C(D+K-1, K-1)."""
    return math.comb(d + k - 1, k - 1)


def m_symmetric_sum(d: int, k: int) -> int:
    """The same count as a sum over degrees (kept separate so the two forms check each other)."""
    return sum(math.comb(n + d - 1, n) for n in range(k))


def feature_dim(construction: str, d: int, k: int) -> int:
    return {"full": m_full, "symmetric": m_symmetric}[check_construction(construction)](d, k)


def check_construction(construction: str) -> str:
    if construction not in CONSTRUCTIONS:
        raise ValueError(f"unknown construction {construction!r}; expected one of {CONSTRUCTIONS}")
    return construction
