"""Tools for a chat template that has no place for them: ChatDesk writes them itself.

A chat template "takes tools" when it reads the ``tools`` variable (Qwen, Llama 3.1+,
Mistral, Hermes...): the engine hands it the tool list and the template writes them the
way the model was trained on (``native``). Many small models' templates (SmolLM2's ChatML)
never read it; handing them tools would drop the tools silently. For those the engine adds
the tools to the system prompt in the Hermes form (``generic``): a ``<tools>`` block of
JSON function specs and the instruction to answer with ``<tool_call>{"name": ...,
"arguments": {...}}</tool_call>``, the format ChatDesk's tool loop reads from every model.
Show prompt shows that system prompt as it is sent.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import jinja2
import jinja2.meta

from chatdesk.engine.templates import TemplateError, compile_template

GENERIC_HEADER = (
    "# Tools\n\n"
    "You may call one or more functions to help with the user's request. "
    "The functions, as JSON schemas, inside <tools></tools>:\n<tools>\n"
)
GENERIC_FOOTER = (
    "\n</tools>\n\n"
    "To call a function, reply with its name and arguments as a JSON object inside "
    "<tool_call></tool_call> tags, one call per block:\n"
    '<tool_call>\n{"name": "<function name>", "arguments": {<arguments>}}\n</tool_call>'
)


@lru_cache(maxsize=32)
def template_takes_tools(template: str) -> bool:
    """True when the Jinja chat template reads the ``tools`` variable."""
    try:
        environment = compile_template(template).environment
        names = jinja2.meta.find_undeclared_variables(environment.parse(template))
    except (TemplateError, jinja2.TemplateError):
        return False
    return "tools" in names


def generic_tool_prompt(system_prompt: str, tools: list[dict[str, Any]]) -> str:
    """``system_prompt`` followed by the tools and how to call them (see the docstring)."""
    specs = "\n".join(json.dumps(tool, ensure_ascii=False) for tool in tools)
    block = f"{GENERIC_HEADER}{specs}{GENERIC_FOOTER}"
    return f"{system_prompt}\n\n{block}" if system_prompt else block
