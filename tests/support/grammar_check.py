"""Does a GBNF grammar accept a text? Asked of llama.cpp's own grammar sampler.

Loads only the starter model's vocabulary (no weights), tokenises the text, and walks it
token by token through ``llama_sampler_init_grammar``: each token must survive the
grammar's ``apply`` before it is accepted, and at the end the grammar must allow the
end-of-generation token (the document is complete, not just a prefix).
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import llama_cpp


class GrammarChecker:
    """One vocabulary, many grammar checks."""

    def __init__(self, model_path: Path) -> None:
        params = llama_cpp.llama_model_default_params()
        params.vocab_only = True
        self.model = llama_cpp.llama_model_load_from_file(str(model_path).encode(), params)
        assert self.model, f"cannot load the vocabulary of {model_path}"
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)
        self.eos = int(llama_cpp.llama_vocab_eos(self.vocab))

    def tokens(self, text: str) -> list[int]:
        data = text.encode("utf-8")
        buffer = (llama_cpp.llama_token * (len(data) + 8))()
        count = llama_cpp.llama_tokenize(
            self.vocab, data, len(data), buffer, len(buffer), False, False
        )
        assert count >= 0
        return list(buffer[:count])

    def accepts(self, grammar: str, text: str) -> bool:
        """True when ``text`` is a complete sentence of ``grammar``."""
        sampler = llama_cpp.llama_sampler_init_grammar(self.vocab, grammar.encode(), b"root")
        assert sampler, "llama.cpp could not parse the grammar"
        try:
            for token in self.tokens(text):
                if not self._allowed(sampler, token):
                    return False
                llama_cpp.llama_sampler_accept(sampler, token)
            return self._allowed(sampler, self.eos)
        finally:
            llama_cpp.llama_sampler_free(sampler)

    def parses(self, grammar: str) -> bool:
        """True when llama.cpp can build a sampler from ``grammar``."""
        sampler = llama_cpp.llama_sampler_init_grammar(self.vocab, grammar.encode(), b"root")
        if sampler:
            llama_cpp.llama_sampler_free(sampler)
        return bool(sampler)

    @staticmethod
    def _allowed(sampler: ctypes.c_void_p, token: int) -> bool:
        data = (llama_cpp.llama_token_data * 1)()
        data[0].id, data[0].logit, data[0].p = token, 0.0, 0.0
        array = llama_cpp.llama_token_data_array(data=data, size=1, selected=-1, sorted=False)
        llama_cpp.llama_sampler_apply(sampler, ctypes.byref(array))
        return bool(data[0].logit > -1e30)

    def close(self) -> None:
        llama_cpp.llama_model_free(self.model)
