"""A small GPT-2 style byte-level BPE vocabulary for synthetic test models.

The vocabulary holds the 256 byte tokens (spelled with the usual byte-to-unicode
table, so a space is "Ġ" and a newline "Ċ"), merges learnt from a short built-in
English text (topped up with seeded synthetic merges when a larger vocabulary is
asked for) and a few control tokens at the end. llama.cpp loads it as a "gpt2"
tokenizer, so test models tokenise and detokenise real text, UTF-8 included.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

CONTROL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")

# Token types as stored in tokenizer.ggml.token_type (llama.cpp's llama_token_type).
TOKEN_TYPE_NORMAL = 1
TOKEN_TYPE_CONTROL = 3

_TRAINING_TEXT = """
The quick brown fox jumps over the lazy dog. A user asks a question and the assistant
answers it. Hello, how are you today? I am fine, thank you. What is the capital of France?
The capital of France is Paris. Please write a short poem about the sea and the stars.
Language models read tokens and predict the next token. This is a test of the tokenizer,
with numbers like 42, 1234 and 3.14, code like print("hello world") and def main():
return 0. Conversations are saved on the computer and nothing leaves the machine.
Once upon a time there was a little model that wanted to talk with people all day long.
The weather is nice, the system is ready, the message was sent and the reply streamed in.
"""

_WORD = re.compile(r" ?[A-Za-z]+| ?[0-9]| ?[^\sA-Za-z0-9]+|\s+")


def byte_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from each byte to a printable unicode character."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    printable += list(range(ord("®"), ord("ÿ") + 1))
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


@dataclass(frozen=True)
class ByteBPEVocab:
    """Tokens, their types and the merge list, ready for tokenizer.ggml.* keys."""

    tokens: list[str]
    token_types: list[int]
    merges: list[str]

    def token_id(self, text: str) -> int:
        """Id of a token spelled exactly ``text`` (control tokens included)."""
        return self.tokens.index(text)


def _encode_words(text: str, table: dict[int, str]) -> Counter[tuple[str, ...]]:
    """Split text into pre-tokenised words, each a tuple of byte characters."""
    words: Counter[tuple[str, ...]] = Counter()
    for word in _WORD.findall(text):
        words[tuple(table[b] for b in word.encode("utf-8"))] += 1
    return words


def _best_pair(words: Counter[tuple[str, ...]]) -> tuple[str, str] | None:
    """Most frequent adjacent pair (ties broken alphabetically, so training is stable)."""
    pairs: Counter[tuple[str, str]] = Counter()
    for word, count in words.items():
        for pair in pairwise(word):
            pairs[pair] += count
    if not pairs:
        return None
    return min(pairs, key=lambda pair: (-pairs[pair], pair))


def _apply_merge(words: Counter[tuple[str, ...]], pair: tuple[str, str]) -> None:
    """Replace every occurrence of ``pair`` by the merged symbol, in place."""
    for word in [w for w in words if len(w) > 1]:
        merged: list[str] = []
        i = 0
        while i < len(word):
            if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
                merged.append(word[i] + word[i + 1])
                i += 2
            else:
                merged.append(word[i])
                i += 1
        if len(merged) != len(word):
            words[tuple(merged)] += words.pop(word)


def _learnt_merges(limit: int, table: dict[int, str], seen: set[str]) -> list[tuple[str, str]]:
    """Merges learnt from the built-in text, until ``limit`` new tokens are made.

    Two merges may spell the same token ("a"+"bc", "ab"+"c"); both stay in the merge
    list but the token is counted (and later listed) once: a duplicate token text
    would make llama.cpp abort.
    """
    words = _encode_words(_TRAINING_TEXT, table)
    merges: list[tuple[str, str]] = []
    made = 0
    while made < limit:
        pair = _best_pair(words)
        if pair is None:
            break
        merges.append(pair)
        if pair[0] + pair[1] not in seen:
            seen.add(pair[0] + pair[1])
            made += 1
        _apply_merge(words, pair)
    return merges


def _synthetic_merges(
    count: int, seen: set[str], seed: int, max_len: int = 8
) -> list[tuple[str, str]]:
    """Seeded extra merges of existing tokens, so large vocabularies stay valid BPE."""
    rng = random.Random(seed)
    pool = sorted(token for token in seen if token not in CONTROL_TOKENS)
    merges: list[tuple[str, str]] = []
    while len(merges) < count:
        left, right = rng.choice(pool), rng.choice(pool)
        merged = left + right
        if len(merged) > max_len or merged in seen:
            continue
        seen.add(merged)
        pool.append(merged)
        merges.append((left, right))
    return merges


def build_vocab(n_vocab: int, seed: int = 0) -> ByteBPEVocab:
    """A byte-level BPE vocabulary of exactly ``n_vocab`` tokens."""
    n_merges = n_vocab - 256 - len(CONTROL_TOKENS)
    if n_merges < 0:
        raise ValueError(f"n_vocab must be at least {256 + len(CONTROL_TOKENS)}, got {n_vocab}")
    table = byte_to_unicode()
    byte_tokens = [table[b] for b in range(256)]
    seen = set(byte_tokens) | set(CONTROL_TOKENS)
    merges = _learnt_merges(n_merges, table, seen)
    merges += _synthetic_merges(n_vocab - len(seen), seen, seed)
    merged = dict.fromkeys(left + right for left, right in merges)
    tokens = byte_tokens + list(merged) + list(CONTROL_TOKENS)
    types = [TOKEN_TYPE_NORMAL] * (len(tokens) - len(CONTROL_TOKENS))
    types += [TOKEN_TYPE_CONTROL] * len(CONTROL_TOKENS)
    return ByteBPEVocab(tokens, types, [f"{left} {right}" for left, right in merges])
