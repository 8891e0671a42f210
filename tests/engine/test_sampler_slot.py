"""Each reply's samplers go into one chain kept with the model (``sampling.ChainSlot``).

llama.cpp's chain allocates its candidate buffer (one entry per vocabulary token) at its
first sample; a chain per reply paid for fresh memory before every first token, which
after a conversation switch were page faults (issue 25, item 2). A reply in the kept chain
must sample exactly what a chain of its own samples, leave the chain empty for the next
reply, and a second chain while one reply holds it must still work.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chatdesk.engine.types import SamplingSettings

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None, reason="needs llama-cpp-python"
)
SETTINGS = SamplingSettings(temperature=0.9, top_k=40, repeat_penalty=1.3, seed=7)


@pytest.fixture(scope="module")
def model(tiny_model_path: Path) -> Iterator[Any]:
    import llama_cpp

    from chatdesk.engine.host.model import ContextParams, LoadedModel, open_model

    llama_cpp.llama_backend_init()
    loaded = LoadedModel(open_model(str(tiny_model_path), 0), ContextParams(256, 64, 1, 1, True))
    yield loaded
    loaded.close()


def _reply(model: Any, slot: Any, prompt: list[int], steps: int = 12) -> list[int]:
    """Tokens sampled after ``prompt`` (seeded, penalties on), one at a time."""
    from chatdesk.engine.host.sampling import SamplerChain

    model.clear()
    model.evaluate(prompt, 0)
    chain = SamplerChain(SETTINGS, 7, model.n_vocab, [2], history=prompt, slot=slot)
    try:
        assert slot is None or chain.pointer == slot.pointer
        tokens = [model.sample(chain)]
        for position in range(len(prompt), len(prompt) + steps - 1):
            model.evaluate([tokens[-1]], position)
            tokens.append(model.sample(chain))
    finally:
        chain.close()
    return tokens


def _samplers_in(slot: Any) -> int:
    import llama_cpp

    return int(llama_cpp.llama_sampler_chain_n(slot.pointer))


def test_a_reply_in_the_kept_chain_samples_what_its_own_chain_samples(model: Any) -> None:
    prompt = model.tokenize("The harbour has three cranes and", True)
    own = _reply(model, None, prompt)
    assert len(set(own)) > 1  # a real draw, not one token over and over
    for _ in range(3):  # again and again in the same chain: each reply starts afresh
        assert _reply(model, model.chain_slot, prompt) == own
        assert _samplers_in(model.chain_slot) == 0


def test_a_second_chain_while_the_slot_is_held_has_its_own(model: Any) -> None:
    from chatdesk.engine.host.sampling import SamplerChain

    slot = model.chain_slot
    first = SamplerChain(SETTINGS, 1, model.n_vocab, slot=slot)
    second = SamplerChain(SETTINGS, 1, model.n_vocab, slot=slot)
    try:
        assert first.pointer == slot.pointer
        assert second.pointer not in (None, slot.pointer)
        second.close()
        assert _samplers_in(slot) > 0  # closing the other chain left this reply's samplers
    finally:
        first.close()
    assert _samplers_in(slot) == 0
    assert slot.take()
    slot.give_back()


def test_a_grammar_that_does_not_parse_gives_the_slot_back(model: Any) -> None:
    from chatdesk.engine.host.sampling import GrammarError, SamplerChain

    slot = model.chain_slot
    with pytest.raises(GrammarError):
        SamplerChain(SETTINGS, 1, model.n_vocab, grammar=(model.vocab, "root ::= ("), slot=slot)
    assert _samplers_in(slot) == 0
    assert slot.take()
    slot.give_back()
