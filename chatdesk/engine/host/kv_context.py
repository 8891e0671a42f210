"""What the KV cache holds: its tokens, and the text each token stands for in a prompt.

A new turn's prompt repeats the previous reply, but re-tokenising that text rarely gives
back the tokens the model generated (BPE merges differently; the shown reply had its
leading whitespace dropped). Matching only token ids would then re-evaluate the whole
previous reply. So the cache also remembers each token's text as it appears in the prompt,
and ``match_text`` finds how many cached tokens spell out the start of the new prompt: those
are kept, and only the rest of the prompt is tokenised and evaluated.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from dataclasses import dataclass, field


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix of two token lists."""
    limit = min(len(a), len(b))
    index = 0
    while index < limit and a[index] == b[index]:
        index += 1
    return index


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
    """Tokens in the KV cache (positions 0..n-1) and the prompt text of each."""

    tokens: list[int] = field(default_factory=list)
    pieces: list[bytes] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.tokens)

    def truncate(self, keep: int) -> None:
        """Forget everything from position ``keep`` on."""
        del self.tokens[keep:]
        del self.pieces[keep:]

    def extend(self, tokens: Sequence[int], pieces: Sequence[bytes]) -> None:
        """Record tokens just evaluated."""
        self.tokens.extend(tokens)
        self.pieces.extend(pieces)

    def clear(self) -> None:
        """The cache is empty."""
        self.truncate(0)

    def match_text(self, prompt: bytes) -> tuple[int, int]:
        """(cached tokens whose text starts ``prompt``, bytes of ``prompt`` they cover).

        The match never ends inside a UTF-8 character, so the rest of the prompt can be
        tokenised on its own.
        """
        offset = 0
        count = 0
        pending = 0  # tokens with no text of their own (yet): kept if the text goes on matching
        for piece in self.pieces:
            if not piece:
                pending += 1
                continue
            if not prompt.startswith(piece, offset):
                break
            offset += len(piece)
            count += pending + 1
            pending = 0
        while count and offset < len(prompt) and (prompt[offset] & 0xC0) == 0x80:
            count -= 1
            offset -= len(self.pieces[count])
        while count and not self.pieces[count - 1]:  # end on a token that has text
            count -= 1
        return count, offset
