"""Token counts estimated without a tokenizer, each kind of character at its own rate.

Where no tokenizer can count (a remote server without a tokenize endpoint, such as Ollama
or LM Studio; documents sized while no model can count them), ChatDesk estimates. One
fixed number of characters a token cannot serve: the same story takes 45 tokens in
English on every tokenizer measured, and 57 characters of its Chinese take 40-120. So each
kind of character counts at its own rate:

- ASCII letters and spaces: 4.5 to a token (English prose is 4.5-5 on current models);
- ASCII digits, punctuation and line breaks: one token each (most tokenizers split figures
  digit by digit, and code and tables are largely punctuation);
- every other character: a token per 4 bytes of its UTF-8 (a Cyrillic or Arabic letter is
  2 bytes, a Chinese character or a Devanagari letter 3, an emoji 4);
- a special token's text (``<|im_start|>``, ``<|eot_id|>``): one token, as in a template
  (a remote engine estimates a request as ChatML, and its five tokens a message must match
  the ``MESSAGE_OVERHEAD`` its context fit allows).

For one paragraph each of 14 kinds of text (``tests/benchmarks/bench_token_estimate.py``)
the estimate is 0.91-2.15 times Gemma 3's count and 0.61-1.52 times Llama 3's, where 4
characters a token was 0.32-1.27 and 0.26-1.24 (Chinese and tables of figures the lowest).
Small English vocabularies (SmolLM2, Phi-3, Llama 2) take up to 3.3 times the estimate
for other scripts, so a caller that sees real counts scales the estimate by them (the
remote engine learns the scale from the server's ``usage``).
"""

from __future__ import annotations

import math
import re
import string

LETTERS_PER_TOKEN = 4.5
OTHER_BYTES_PER_TOKEN = 4
# ASCII characters that are a token each: all but letters and the space.
_ONE_EACH = bytes(code for code in range(128) if chr(code) not in string.ascii_letters + " ")
SPECIAL_TOKEN = re.compile(r"<\|[A-Za-z0-9_]{1,32}\|>")


def estimate_tokens(text: str, scale: float = 1.0) -> int:
    """The estimated tokens of ``text`` (at least 1), times ``scale``."""
    text, special = SPECIAL_TOKEN.subn("", text)
    utf8 = text.encode("utf-8", "surrogatepass")
    ascii_part = text.encode("ascii", "ignore")
    words = len(ascii_part.translate(None, _ONE_EACH))
    one_each = len(ascii_part) - words
    other_bytes = len(utf8) - len(ascii_part)
    raw = special + words / LETTERS_PER_TOKEN + one_each + other_bytes / OTHER_BYTES_PER_TOKEN
    return max(1, math.ceil(raw * scale))
