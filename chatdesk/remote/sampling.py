"""ChatDesk's sampling settings as a remote request's fields, and what could not be sent.

OpenAI's API knows temperature, top_p, the two penalties, seed, max_tokens and stop;
llama.cpp's servers and vLLM take more (top_k, min_p, a repeat penalty...) under their own
names. ``map_sampling`` sends each setting the server's dialect takes and lists the others
in ``not_sent``, unless they have their neutral value (top_k 0, min_p 0, repeat penalty
1.0...), where leaving them out changes nothing. Nothing is dropped silently: the CLI
prints the report and the window shows it under the reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatdesk.engine.types import SamplingSettings
from chatdesk.remote.server_info import DIALECT_PARAMETERS, STANDARD_PARAMETERS

NEUTRAL: dict[str, Any] = {
    "top_k": 0,
    "min_p": 0.0,
    "repeat_penalty": 1.0,
    "repeat_last_n": 64,
    "presence_penalty": 0.0,
    "frequency_penalty": 0.0,
    "ignore_eos": False,
}
# how the local engine host decodes, not how tokens are chosen: nothing a server needs
ENGINE_LOCAL = frozenset({"speculative"})


@dataclass(frozen=True)
class SamplingReport:
    """The request fields sent, and the ChatDesk settings this server does not take."""

    dialect: str
    sent: dict[str, Any] = field(default_factory=dict)
    not_sent: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for the user: what went to the server and what did not."""
        sent = ", ".join(f"{key}={value}" for key, value in self.sent.items()) or "none"
        line = f"sent to the server ({self.dialect}): {sent}"
        if self.not_sent:
            line += f"; not supported by this server, not sent: {', '.join(self.not_sent)}"
        return line


def map_sampling(sampling: SamplingSettings, dialect: str) -> SamplingReport:
    """The request fields for ``sampling`` on a server of ``dialect``."""
    extra = DIALECT_PARAMETERS.get(dialect, {})
    sent: dict[str, Any] = {}
    not_sent: list[str] = []
    for setting, value in sampling.to_dict().items():
        if value is None or (setting == "stop" and not value) or setting in ENGINE_LOCAL:
            continue
        if setting == "logprobs":  # OpenAI's chat API: a switch and a count
            sent.update({"logprobs": True, "top_logprobs": value} if value else {})
            continue
        name = STANDARD_PARAMETERS.get(setting) or extra.get(setting)
        if name is not None:
            sent[name] = list(value) if setting == "stop" else value
        elif value != NEUTRAL.get(setting):
            not_sent.append(setting)
    return SamplingReport(dialect, sent, tuple(not_sent))
