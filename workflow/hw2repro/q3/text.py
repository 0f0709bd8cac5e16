"""The homework's character tokenizer (``TokenVectorizer`` of ``hw2-q3.ipynb``).

Text is lower-cased, truncated to 97 characters, wrapped as ``<`` ... ``>`` and padded with
``@`` to 99 tokens. The vocabulary has 35 symbols; any character outside it maps to ``#``
(id 3, unknown). Real LJ Speech transcripts hold a few such characters (quotes, colons,
semicolons, non-ASCII letters): they become ``#``, as in the homework.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where a tensor is made: the tables and figures jobs need none
    import torch

VOCAB: tuple[str, ...] = ("<", ">", "@", "#", " ", ",", ".", "?", "-") + tuple("abcdefghijklmnopqrstuvwxyz")
VOCAB_SIZE = len(VOCAB)  # 35
SOS, EOS, PAD, UNK = 0, 1, 2, 3  # "<", ">", "@", "#"
MAX_CHARS = 97  # characters kept from a transcript
TEXT_LEN = MAX_CHARS + 2  # 99: "<" + text + ">" + "@" padding
CHAR_TO_ID: dict[str, int] = {c: i for i, c in enumerate(VOCAB)}

assert VOCAB_SIZE == 35 and CHAR_TO_ID["a"] == 9 and CHAR_TO_ID["z"] == 34


def encode(text: str) -> list[int]:
    """Token ids (length 99) of ``text``: lower-case, truncate to 97, wrap in < >, pad with @."""
    body = [CHAR_TO_ID.get(c, UNK) for c in text.lower()[:MAX_CHARS]]
    ids = [SOS] + body + [EOS]
    return ids + [PAD] * (TEXT_LEN - len(ids))


def encode_batch(texts: Iterable[str]) -> torch.Tensor:
    """int64 tensor (N, 99) of ``encode`` applied to every text."""
    import torch

    rows = [encode(t) for t in texts]
    if not rows:
        return torch.empty((0, TEXT_LEN), dtype=torch.int64)
    return torch.tensor(rows, dtype=torch.int64)


def decode(ids: Sequence[int] | torch.Tensor, strip: bool = False) -> str:
    """Symbols of ``ids`` joined into a string.

    With ``strip=False`` (default) every id becomes its symbol (``<``, ``>``, ``@`` included), so
    ``decode(encode(t))`` shows exactly what the model sees. With ``strip=True`` the text between
    a leading ``<`` and the first ``>`` is returned (padding and markers removed).
    """
    if hasattr(ids, "tolist"):  # a tensor (or an array): its ids as Python ints
        ids = ids.tolist()
    out = []
    for i in ids:
        i = int(i)
        if not 0 <= i < VOCAB_SIZE:
            raise ValueError(f"token id {i} outside the vocabulary 0..{VOCAB_SIZE - 1}")
        out.append(VOCAB[i])
    text = "".join(out)
    if strip:
        if text.startswith("<"):
            text = text[1:]
        text = text.split(">", 1)[0].replace("@", "")
    return text


class TokenVectorizer:
    """The homework's class interface over the module functions (``vectorizer(text)`` encodes)."""

    vocab = VOCAB

    def __call__(self, text: str) -> list[int]:
        return encode(text)

    encode = staticmethod(encode)
    decode = staticmethod(decode)
