"""Engine commands: ``ask``, ``chat``, ``prompt`` and ``bench`` (plus the hidden host commands).

``ask`` and ``chat`` run the model in an engine host (``chatdesk.engine.client``), stream
the reply to stdout and save every exchange in the conversation store. ``prompt`` renders
the chat template from the GGUF header alone. ``bench`` lives in ``chatdesk.cli.bench``.
This module never imports llama_cpp; the hidden ``__engine-host`` and
``__engine-reference`` commands (used by the frozen app) import the host lazily.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatdesk.cli.errors import CLIError
from chatdesk.engine.types import MAX_LOGPROBS

if TYPE_CHECKING:
    from chatdesk.services.app_services import AppServices
    from chatdesk.services.turns import Turn

SAMPLING_FLAGS = {
    "temperature": ("--temperature", float, "sampling temperature (0 = greedy)"),
    "top_p": ("--top-p", float, "nucleus sampling probability mass"),
    "top_k": ("--top-k", int, "keep only the K most likely tokens (0 = off)"),
    "min_p": ("--min-p", float, "drop tokens below this share of the top probability"),
    "repeat_penalty": ("--repeat-penalty", float, "penalty for repeating recent tokens"),
    "presence_penalty": ("--presence-penalty", float, "penalty for tokens already present"),
    "frequency_penalty": ("--frequency-penalty", float, "penalty growing with repetitions"),
    "seed": ("--seed", int, "random seed (same seed + settings + prompt = same reply)"),
    "max_tokens": ("--max-tokens", int, "longest reply in tokens"),
}


def register(commands: Any) -> None:  # argparse's subparsers action has a private type
    """Add the engine commands to the chatdesk parser."""
    from chatdesk.cli import bench

    ask = commands.add_parser("ask", help="ask a model one question (saved as a conversation)")
    ask.add_argument(
        "model",
        nargs="?",
        help="a .gguf file, or any unique part of an installed model's name (SmolLM2); "
        "default: the conversation's model, else the last one used",
    )
    ask.add_argument("prompt", nargs="?", help="the question")
    ask.add_argument(
        "--continue",
        dest="continue_reply",
        action="store_true",
        help="with --conversation and no question: carry on writing its cut-off last reply",
    )
    add_chat_options(ask)
    ask.add_argument(
        "--logprobs",
        type=int,
        metavar="N",
        help=f"also print each token's probability and its N (1-{MAX_LOGPROBS}) most likely "
        "alternatives (kept with the reply)",
    )
    ask.add_argument(
        "--json", action="store_true", help="print one JSON object instead of streaming text"
    )
    ask.add_argument(
        "--json-schema",
        type=Path,
        metavar="FILE",
        help="the reply must be JSON following this JSON schema (printed as JSON; exit "
        "status 3 when it does not validate)",
    )
    ask.add_argument(
        "--format",
        choices=("text", "json"),
        help="json: the reply must be a JSON object (printed as JSON)",
    )
    ask.set_defaults(handler=run_ask)

    chat = commands.add_parser("chat", help="chat with a model in the terminal")
    chat.add_argument(
        "model", nargs="?", help="path to a .gguf file (optional with --conversation)"
    )
    add_chat_options(chat)
    chat.set_defaults(handler=run_chat)

    prompt = commands.add_parser("prompt", help="print the exact prompt the model would see")
    prompt.add_argument("model", help="path to a .gguf file (only its header is read)")
    prompt.add_argument("--messages", required=True, type=Path, help="JSON file of messages")
    prompt.add_argument("--system", help="system prompt put in front of the messages")
    prompt.add_argument("--template", help="built-in template name or Jinja file to use")
    prompt.add_argument(
        "--no-generation-prompt",
        action="store_true",
        help="leave out the assistant header that invites the reply",
    )
    prompt.set_defaults(handler=run_prompt)

    bench.register(commands)

    host = commands.add_parser("__engine-host")  # no help: hidden (frozen app's engine host)
    host.set_defaults(handler=run_engine_host)
    reference = commands.add_parser("__engine-reference", add_help=False)
    reference.add_argument("rest", nargs=argparse.REMAINDER)
    reference.set_defaults(handler=run_engine_reference)


def add_chat_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``ask`` and ``chat``."""
    parser.add_argument(
        "--system", help="system prompt (saved on the conversation; default: the conversation's)"
    )
    for dest, (flag, kind, text) in SAMPLING_FLAGS.items():
        parser.add_argument(flag, dest=dest, type=kind, help=text)
    parser.add_argument("--ctx", type=int, help="context length in tokens")
    parser.add_argument("--gpu-layers", type=int, help="layers to offload to the GPU (-1 = all)")
    parser.add_argument("--threads", type=int, help="CPU threads")
    parser.add_argument("--conversation", help="continue this conversation (id or id prefix)")
    parser.add_argument(
        "--engine",
        metavar="NAME",
        help="a remote engine (chatdesk engines add): MODEL is then one of its model ids",
    )
    parser.add_argument("--stats", action="store_true", help="print reply figures on stderr")
    parser.add_argument(
        "--tools", help="let the model call these tools (comma-separated; 'all' for every one)"
    )
    parser.add_argument(
        "--yes", action="store_true", help="run the model's tool calls without asking"
    )
    parser.add_argument(
        "--docs",
        action="append",
        metavar="NAME",
        help="answer from this document collection, citing it (repeatable)",
    )


def resolve_model(name: str) -> Path:
    """A model argument as a file: a path, or any unique part of an installed model's name
    (``SmolLM2``), ignoring case; otherwise the error lists the installed models."""
    from chatdesk.services.model_choices import ModelNameError, find_model

    try:
        return find_model(name)
    except ModelNameError as error:
        raise CLIError(str(error)) from None


def read_messages_file(path: Path) -> tuple[list[dict[str, str]], str | None]:
    """Messages from JSON: a list of {role, content}, or {"messages": [...], "system": ...}."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CLIError(f"cannot read {path}: {error.strerror or error}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CLIError(f"{path} is not valid JSON: {error}") from None
    system = None
    if isinstance(data, dict):
        system = data.get("system") or data.get("system_prompt")
        data = data.get("messages")
    if not isinstance(data, list) or not all(_is_message(item) for item in data):
        raise CLIError(f"{path} must hold a list of {{'role': ..., 'content': ...}} objects")
    return [{"role": m["role"], "content": m["content"]} for m in data], system


def _is_message(item: object) -> bool:
    return (
        isinstance(item, dict)
        and isinstance(item.get("role"), str)
        and isinstance(item.get("content"), str)
    )


def run_prompt(args: argparse.Namespace) -> int:
    """``chatdesk prompt``: print the rendered prompt, byte for byte."""
    from chatdesk.engine.templates import TemplateError, render_prompt, resolve_template
    from chatdesk.gguf_metadata import GGUFError, control_token_texts, read_gguf_metadata

    messages, system = read_messages_file(args.messages)
    system = args.system if args.system is not None else system
    try:
        metadata = read_gguf_metadata(resolve_model(args.model))
    except GGUFError as error:
        raise CLIError(str(error)) from None
    override = args.template
    if override and Path(override).is_file():
        override = Path(override).read_text(encoding="utf-8")
    try:
        _name, template = resolve_template(
            metadata.chat_template, override, control_tokens=control_token_texts(metadata)
        )
        text = render_prompt(
            template,
            system or "",
            messages,
            add_generation_prompt=not args.no_generation_prompt,
            bos_token=metadata.bos_token or "",
            eos_token=metadata.eos_token or "",
        )
    except TemplateError as error:  # the template is untrusted input
        raise CLIError(str(error)) from None
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0


def run_ask(args: argparse.Namespace) -> int:
    """``chatdesk ask``: one exchange, streamed and saved."""
    from chatdesk.cli.terminal_chat import TerminalChat

    if args.prompt is None and not args.continue_reply:  # ``ask --conversation ID PROMPT``
        args.model, args.prompt = None, args.model
    if args.continue_reply:
        if not args.conversation or args.prompt is not None:
            raise CLIError("--continue takes --conversation ID and no question")
    elif args.prompt is None:
        raise CLIError("give the question to ask")
    if args.logprobs is not None and not 1 <= args.logprobs <= MAX_LOGPROBS:
        raise CLIError(f"--logprobs takes a number from 1 to {MAX_LOGPROBS}")
    wanted = reply_format_option(args)
    with TerminalChat.open(args) as session:
        if args.json or wanted:
            session.out = io.StringIO()  # the JSON object is the whole output
        extras: dict[str, Any] = {"logprobs": args.logprobs} if args.logprobs else {}
        if wanted:
            extras["response_format"] = wanted
        if args.continue_reply:
            turn = session.continue_last()
        else:
            turn = session.exchange(str(args.prompt), extras or None)
        print_ask_result(args, session.services, turn)
    return structured_exit(turn) if wanted else 0


def reply_format_option(args: argparse.Namespace) -> dict[str, Any] | None:
    """``--json-schema FILE`` / ``--format json`` as a reply format, checked before the
    model is loaded (a schema that cannot be enforced is refused, keyword and path named)."""
    from chatdesk.services.structured import FormatError, parse_format

    if args.json_schema is not None and args.format == "text":
        raise CLIError("--json-schema asks for JSON; leave out --format text")
    if args.json_schema is not None:
        try:
            schema = json.loads(args.json_schema.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise CLIError(f"cannot read the schema {args.json_schema}: {error}") from None
        wanted: dict[str, Any] = {"type": "json_schema", "schema": schema,
                                  "name": args.json_schema.stem}  # fmt: skip
    elif args.format == "json":
        wanted = {"type": "json_object"}
    else:
        return None
    try:
        parse_format(wanted)
    except FormatError as error:
        raise CLIError(f"the schema cannot be used: {error}") from None
    return wanted


def structured_exit(turn: Turn) -> int:
    """Exit status of a structured reply: 0 valid, 3 invalid or incomplete (said on stderr)."""
    verdict = turn.data.get("structured") or {}
    if verdict.get("status") == "valid":
        return 0
    problem = verdict.get("error") or turn.error or "the reply was not checked"
    print(f"chatdesk: the reply does not follow the format: {problem}", file=sys.stderr)
    return 3


def print_ask_result(args: argparse.Namespace, services: AppServices, turn: Turn) -> None:
    """After ``ask``: the whole reply as one JSON object (``--json``: text, sources, tool
    calls, tokens... see ``services.reply_summary``), or the ``--logprobs`` table."""
    from chatdesk.probabilities.formats import table

    verdict = turn.data.get("structured")
    if args.json:
        print(json.dumps(services.chat.summary(turn), ensure_ascii=False, indent=2))
    elif verdict is not None:
        print(structured_text(turn.text, verdict))
    elif args.logprobs:
        print()
        print(table(services.probabilities.choices(turn.message_id) or [], args.logprobs))


def structured_text(text: str, verdict: dict[str, Any]) -> str:
    """A structured reply for stdout: pretty JSON when it parses, else as written."""
    if verdict.get("status") in ("valid", "invalid"):
        try:
            return json.dumps(json.loads(text), ensure_ascii=False, indent=2)
        except ValueError:
            pass
    return text


def run_chat(args: argparse.Namespace) -> int:
    """``chatdesk chat``: an interactive conversation until /exit or end of input."""
    from chatdesk.cli.terminal_chat import TerminalChat

    with TerminalChat.open(args) as session:
        session.interactive()
    return 0


def run_engine_host(args: argparse.Namespace) -> int:
    """Hidden: serve as an engine host (the frozen app starts itself this way)."""
    del args
    from chatdesk.engine.host.main import main

    return main()


def run_engine_reference(args: argparse.Namespace) -> int:
    """Hidden: the plain llama-cpp-python loop ``bench`` compares against."""
    from chatdesk.engine.host.reference import main

    return main(args.rest)
