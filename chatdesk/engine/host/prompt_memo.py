"""Remembering the last prompts' renders and tokens, so a turn pays for what is new.

Switching back to a warmed conversation sends the host the prompt the warm has just
prepared: the same messages, fitted and rendered to the same text, tokenized to the same
tokens. Before, every request did all of that again for the whole history: on the
starter model with a 4,800-token history, fitting (render + count) took about 5 ms,
tokenizing about 5 ms more, on a quiet machine; a new one-line conversation pays almost
nothing for the same steps, so this alone kept returning well above 1.2x a new
conversation's first token (docs/architecture/switch-back.md).

``Memo`` keeps the last few results of a pure function by key (compared with ``==``,
so equal inputs, never merely similar ones, get the remembered result):

- ``PromptBuilder`` remembers tokenizations: key (text, add_special, parse_special),
  value llama.cpp's tokens for exactly that input, so a hit is what tokenizing again
  would give;
- ``Engine`` remembers fits and renders: key (template inputs, reply budget, continuing)
  for the loaded model and template; not for a template that reads the clock
  (``strftime_now``), whose render may change between two equal requests.
"""

from __future__ import annotations

from collections.abc import Callable

SIZE = 4  # a warm and the Send after it, a fit's count and its tokens: a few suffice


def reads_clock(template: str) -> bool:
    """Whether a chat template's render depends on the time (so it is never remembered)."""
    return "strftime_now" in template


class Memo[Value]:
    """The last ``size`` results of a pure function, newest last."""

    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._entries: list[tuple[object, Value]] = []
        self.hits = 0

    def get(self, key: object, compute: Callable[[], Value]) -> Value:
        """The remembered result for ``key`` (equal, not identical), else ``compute()``."""
        for index, (known, value) in enumerate(self._entries):
            if known == key:
                self.hits += 1
                self._entries.append(self._entries.pop(index))
                return value
        value = compute()
        self._entries.append((key, value))
        del self._entries[: -self.size]
        return value

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()
