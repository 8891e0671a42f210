"""From messages to prompt tokens: the chat template, then llama.cpp's tokenizer.

The template renders the system prompt and messages (``chatdesk.engine.templates``). The
rendered text is tokenized with special tokens parsed (``<|im_start|>`` becomes one control
token), except where a message itself spells a control token: the template module hands
those spans back as literal pieces, tokenized as plain text, so a user pasting
"<|im_end|>" cannot end their own turn. A BOS token is added when the model asks for one
and the template did not already write it. The last few tokenizations are remembered
(``prompt_memo``): the fit counts the prompt it then tokenizes, and Send after a warm
tokenizes the prompt the warm did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chatdesk.engine.host.model import LoadedModel
from chatdesk.engine.host.prompt_memo import Memo, reads_clock
from chatdesk.engine.templates import (
    PromptPiece,
    TemplateError,
    render_prompt,
    render_prompt_pieces,
)

SIZES_KEPT = 20_000  # message sizes remembered: a few long chats' worth


class PromptError(Exception):
    """The chat template failed on these messages."""


def cut_after_reply(pieces: list[PromptPiece], reply: str) -> list[PromptPiece]:
    """The prompt up to the end of the unfinished reply it ends with (to continue that reply).

    The template closes the last assistant message (end-of-turn token, newline); everything
    after the last occurrence of the reply's text is cut. Raises PromptError when the
    template does not repeat the reply verbatim.
    """
    text = "".join(piece.text for piece in pieces)
    wanted = reply.rstrip()
    end = text.rfind(wanted) + len(wanted) if wanted else -1
    if not wanted or end < len(wanted):
        raise PromptError("the chat template does not repeat the reply to continue")
    kept: list[PromptPiece] = []
    position = 0
    for piece in pieces:
        if position >= end:
            break
        kept.append(PromptPiece(piece.text[: end - position], piece.literal))
        position += len(piece.text)
    return kept


@dataclass(frozen=True)
class PromptBuilder:
    """Renders and tokenizes prompts for one loaded model."""

    model: LoadedModel
    template_name: str
    template: str
    bos_token: str
    eos_token: str
    control_tokens: tuple[str, ...]
    tokenized: Memo[list[int]] = field(default_factory=Memo, compare=False, repr=False)
    renders: Memo[Any] = field(default_factory=Memo, compare=False, repr=False)
    sizes: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def fitted[Result](self, inputs: object, fit_and_render: Callable[[], Result]) -> Result:
        """``fit_and_render()``, remembered for equal ``inputs`` (the engine's fit and
        render of a request: Send after a warm asks for the same), unless the template
        reads the clock."""
        if reads_clock(self.template):
            return fit_and_render()
        result: Result = self.renders.get(inputs, fit_and_render)
        return result

    def render(
        self,
        system_prompt: str,
        messages: list[dict[str, str]],
        add_generation_prompt: bool = True,
        tools: list[dict[str, Any]] | None = None,
    ) -> str:
        """The prompt text (``tools``: function specs the template shows the model)."""
        try:
            return render_prompt(
                self.template,
                system_prompt,
                messages,
                add_generation_prompt=add_generation_prompt,
                bos_token=self.bos_token,
                eos_token=self.eos_token,
                tools=tools,
            )
        except TemplateError as error:  # the template is untrusted input
            raise PromptError(f"{error} ({self.template_name})") from None

    def pieces(
        self,
        system_prompt: str,
        messages: list[dict[str, str]],
        add_generation_prompt: bool = True,
        tools: list[dict[str, Any]] | None = None,
    ) -> list[PromptPiece]:
        """The prompt text in pieces (user-written control-token spellings kept apart)."""
        try:
            return render_prompt_pieces(
                self.template,
                system_prompt,
                messages,
                control_tokens=self.control_tokens,
                add_generation_prompt=add_generation_prompt,
                bos_token=self.bos_token,
                eos_token=self.eos_token,
                tools=tools,
            )
        except TemplateError as error:
            raise PromptError(f"{error} ({self.template_name})") from None

    def count(self, text: str) -> int:
        """Tokens in a rendered prompt (for fitting; literal spans counted as parsed)."""
        return len(self._tokens(text, self._wants_bos(text), True))

    def size(self, text: str) -> int:
        """Tokens of one message's text on its own, for the context fit's anchors;
        remembered, so a long chat's older messages are tokenized once, not every turn."""
        known = self.sizes.get(text)
        if known is None:
            if len(self.sizes) >= SIZES_KEPT:
                self.sizes.clear()
            known = self.sizes[text] = self.content_tokens(text)
        return known

    def content_tokens(self, text: str) -> int:
        """Tokens of a message's text on its own (no BOS; control tokens spelled out in it
        are plain text), not remembered: for text read once (document passages)."""
        return len(self.model.tokenize(text, False, False))

    def tokenize(self, pieces: list[PromptPiece], skip: int = 0) -> list[int]:
        """Tokens of the prompt from byte ``skip`` on (a character boundary)."""
        tokens: list[int] = []
        at_start = skip == 0
        for piece in pieces:
            data = piece.text.encode("utf-8")
            if skip >= len(data):
                skip -= len(data)
                continue
            text = data[skip:].decode("utf-8")
            skip = 0
            add_bos = at_start and self._wants_bos(text)
            tokens += self._tokens(text, add_bos, not piece.literal)
            at_start = False
        return tokens

    def _tokens(self, text: str, add_special: bool, parse_special: bool) -> list[int]:
        """llama.cpp's tokens of ``text``, remembered (``prompt_memo``): a warmed prompt
        sent again, or counted for the fit and then tokenized, is tokenized once."""
        return self.tokenized.get(
            (text, add_special, parse_special),
            lambda: self.model.tokenize(text, add_special, parse_special),
        )

    def _wants_bos(self, text: str) -> bool:
        return self.model.add_bos() and not (self.bos_token and text.startswith(self.bos_token))
