"""What the KV cache holds: its tokens, and the text each token stands for in a prompt.

A new turn's prompt repeats the previous reply, but re-tokenising that text rarely gives
back the tokens the model generated (BPE merges differently; the shown reply had its
leading whitespace dropped). Matching only token ids would then re-evaluate the whole
previous reply. So the cache also remembers each token's text as it appears in the prompt,
and ``match_text`` finds how many cached tokens spell out the start of the new prompt: those
are kept, and only the rest of the prompt is tokenised and evaluated.
"""

from __future__ import annotations

import bisect
import codecs
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix of two token lists (or byte strings).

    Compared slice by slice (C comparisons; bisecting to the first difference), not item
    by item in Python: a turn after thousands of tokens of history compares them all.
    """
    low, high = 0, min(len(a), len(b))
    if _head(a, high) == _head(b, high):  # the usual case: one comparison, no copy
        return high
    while high - low > 1:  # a[:low] == b[:low]; they differ before ``high``
        middle = (low + high) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle
    return low


def _head(items: Sequence[int], length: int) -> Sequence[int]:
    """The first ``length`` items (``items`` itself, not a copy, when that is all)."""
    return items if len(items) == length else items[:length]


def reply_pieces(raw: Sequence[bytes]) -> list[bytes]:
    """Each generated token's share of the reply text as the user got it.

    Decoded the way ``StreamingText`` decodes (a character split over tokens belongs to the
    token that completes it; invalid bytes become U+FFFD; leading whitespace is dropped),
    then encoded again, so the pieces spell the reply exactly as the next prompt repeats it.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pieces: list[bytes] = []
    started = False
    for piece in raw:
        text = decoder.decode(piece)
        if not started:
            text = text.lstrip()
            started = bool(text)
        pieces.append(text.encode("utf-8"))
    return pieces


@dataclass
class KVContext:
    """Tokens in the KV cache (positions 0..n-1) and the prompt text of each; also, kept
    up to date as tokens come and go, their text joined and where each token's text ends
    (so matching a prompt costs one comparison and a bisection, nothing per token)."""

    tokens: list[int] = field(default_factory=list)
    pieces: list[bytes] = field(default_factory=list)
    _ends: list[int] = field(default_factory=list, init=False, repr=False, compare=False)
    _text: bytearray = field(default_factory=bytearray, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index(self.pieces)

    def __len__(self) -> int:
        return len(self.tokens)

    def _index(self, pieces: Sequence[bytes]) -> None:
        start = self._ends[-1] if self._ends else 0
        self._ends.extend(
            itertools.islice(itertools.accumulate(map(len, pieces), initial=start), 1, None)
        )
        self._text += b"".join(pieces)

    def truncate(self, keep: int) -> None:
        """Forget everything from position ``keep`` on."""
        del self.tokens[keep:]
        del self.pieces[keep:]
        del self._ends[keep:]
        del self._text[self._ends[-1] if self._ends else 0 :]

    def extend(self, tokens: Sequence[int], pieces: Sequence[bytes]) -> None:
        """Record tokens just evaluated."""
        self.tokens.extend(tokens)
        self.pieces.extend(pieces)
        self._index(pieces)

    def adopt(self, tokens: list[int], count: int) -> None:
        """Hold ``tokens``' own objects for the first ``count`` (equal) tokens, so the next
        comparison with a prompt tokenized into them (a Send after its warm) goes by
        identity: 3 us instead of about 50 at 4,800 tokens of history."""
        self.tokens[:count] = tokens[:count]

    def clear(self) -> None:
        """The cache is empty."""
        self.truncate(0)

    def match_text(self, prompt: bytes) -> tuple[int, int]:
        """(cached tokens whose text starts ``prompt``, bytes of ``prompt`` they cover).

        The match never ends inside a UTF-8 character, so the rest of the prompt can be
        tokenised on its own, nor on a token without text of its own. (One comparison of
        the joined text, then a bisection of where each token's text ends.)
        """
        ends = self._ends
        count = bisect.bisect_right(ends, common_prefix(self._text, prompt))
        offset = ends[count - 1] if count else 0
        while count and offset < len(prompt) and (prompt[offset] & 0xC0) == 0x80:
            count -= 1
            offset -= len(self.pieces[count])
        while count and not self.pieces[count - 1]:  # end on a token that has text
            count -= 1
        return count, offset
