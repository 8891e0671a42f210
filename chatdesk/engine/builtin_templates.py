"""Built-in chat templates for models whose GGUF file carries none (or a broken one).

Each is written for ChatDesk in the same Jinja dialect as model templates and is
rendered by ``chatdesk.engine.templates.render_chat``. Formats without a system role
(Gemma, Mistral Instruct, Llama 2) fold the system prompt into the first user turn.
"""

from __future__ import annotations

DEFAULT_TEMPLATE = "chatml"


def _lines(*parts: str) -> str:
    """Template source from tag-sized pieces: no stray newlines between tags reach the output."""
    return "".join(parts)


_CHATML = _lines(
    "{% for message in messages %}",
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}",
    "{% endfor %}",
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
)

_LLAMA3 = _lines(
    "{{ bos_token }}",
    "{% for message in messages %}",
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}",
    "{{ message['content'] | trim }}{{ '<|eot_id|>' }}",
    "{% endfor %}",
    "{% if add_generation_prompt %}",
    "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}",
    "{% endif %}",
)

# Shared by the formats without a system role: split it off, prepend it to the first user turn.
_SYSTEM_INTO_FIRST_USER = _lines(
    "{% set ns = namespace(system='') %}",
    "{% if messages and messages[0]['role'] == 'system' %}",
    "{% set ns.system = messages[0]['content'] %}{% set turns = messages[1:] %}",
    "{% else %}{% set turns = messages %}{% endif %}",
)

_GEMMA = _SYSTEM_INTO_FIRST_USER + _lines(
    "{{ bos_token }}",
    "{% for message in turns %}",
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}",
    "{% set text = message['content'] | trim %}",
    "{% if loop.first and ns.system %}",
    "{% set text = ns.system | trim + '\\n\\n' + text %}",
    "{% endif %}",
    "{{ '<start_of_turn>' + role + '\\n' + text + '<end_of_turn>\\n' }}",
    "{% endfor %}",
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}",
)

_MISTRAL_INSTRUCT = _SYSTEM_INTO_FIRST_USER + _lines(
    "{{ bos_token }}",
    "{% for message in turns %}",
    "{% if message['role'] == 'user' %}",
    "{% set text = message['content'] %}",
    "{% if loop.first and ns.system %}{% set text = ns.system + '\\n\\n' + text %}{% endif %}",
    "{{ '[INST] ' + text + ' [/INST]' }}",
    "{% else %}{{ message['content'] + eos_token }}{% endif %}",
    "{% endfor %}",
)

_LLAMA2 = _SYSTEM_INTO_FIRST_USER + _lines(
    "{% for message in turns %}",
    "{% if message['role'] == 'user' %}",
    "{% set text = message['content'] | trim %}",
    "{% if loop.first and ns.system %}",
    "{% set text = '<<SYS>>\\n' + ns.system | trim + '\\n<</SYS>>\\n\\n' + text %}",
    "{% endif %}",
    "{{ bos_token + '[INST] ' + text + ' [/INST]' }}",
    "{% else %}{{ ' ' + message['content'] | trim + ' ' + eos_token }}{% endif %}",
    "{% endfor %}",
)

_PHI3 = _lines(
    "{% for message in messages %}",
    "{{ '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}",
    "{% endfor %}",
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}",
)

_ZEPHYR = _lines(
    "{% for message in messages %}",
    "{{ '<|' + message['role'] + '|>\\n' + message['content'] + eos_token + '\\n' }}",
    "{% endfor %}",
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}",
)

_ALPACA = _lines(
    "{% for message in messages %}",
    "{% if message['role'] == 'system' %}{{ message['content'] + '\\n\\n' }}",
    "{% elif message['role'] == 'user' %}",
    "{{ '### Instruction:\\n' + message['content'] + '\\n\\n' }}",
    "{% else %}{{ '### Response:\\n' + message['content'] + '\\n\\n' }}{% endif %}",
    "{% endfor %}",
    "{% if add_generation_prompt %}{{ '### Response:\\n' }}{% endif %}",
)

_VICUNA = _lines(
    "{% for message in messages %}",
    "{% if message['role'] == 'system' %}{{ message['content'] + '\\n\\n' }}",
    "{% elif message['role'] == 'user' %}{{ 'USER: ' + message['content'] + '\\n' }}",
    "{% else %}{{ 'ASSISTANT: ' + message['content'] + eos_token + '\\n' }}{% endif %}",
    "{% endfor %}",
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}",
)

BUILTIN_TEMPLATES: dict[str, str] = {
    "chatml": _CHATML,
    "llama3": _LLAMA3,
    "llama2": _LLAMA2,
    "gemma": _GEMMA,
    "mistral-instruct": _MISTRAL_INSTRUCT,
    "phi3": _PHI3,
    "zephyr": _ZEPHYR,
    "alpaca": _ALPACA,
    "vicuna": _VICUNA,
}

# Control tokens that give a format away, most specific first: models without a template
# but with these tokens get the matching built-in instead of ChatML.
TEMPLATE_SIGNATURES: tuple[tuple[str, frozenset[str]], ...] = (
    ("llama3", frozenset({"<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"})),
    ("gemma", frozenset({"<start_of_turn>", "<end_of_turn>"})),
    ("chatml", frozenset({"<|im_start|>", "<|im_end|>"})),
    ("phi3", frozenset({"<|user|>", "<|assistant|>", "<|end|>"})),
    ("mistral-instruct", frozenset({"[INST]", "[/INST]"})),
)


def guess_builtin(control_tokens: frozenset[str] | set[str]) -> str:
    """The built-in whose control tokens the vocabulary has (ChatML when none match)."""
    for name, signature in TEMPLATE_SIGNATURES:
        if signature <= control_tokens:
            return name
    return DEFAULT_TEMPLATE
