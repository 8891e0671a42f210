"""The host's engine: the loaded model, its chat template, and the conversations' KV caches.

``Engine`` carries out the requests the server receives: load (validate the GGUF header
first, size the context from the trained length and free memory), unload (free it all),
render a prompt, and generate a reply. Before a reply it fits the conversation into the
context minus the reply budget, then reuses the KV cache: the longest common prefix with
what the context already holds, or with the saved state of the same conversation when the
user switched away and back, so a new turn only evaluates its new tokens.
"""

from __future__ import annotations

import functools
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llama_cpp

from chatdesk.engine.capabilities import local_capabilities, refuse_unsupported
from chatdesk.engine.constrain import SchemaRefused, constraint_for
from chatdesk.engine.context_fit import (
    ContextOverflowError,
    FitResult,
    fit_conversation,
    reply_budget,
)
from chatdesk.engine.host import memory
from chatdesk.engine.host.detokenize import StreamingText
from chatdesk.engine.host.generation import DecodeOutcome, decode_reply
from chatdesk.engine.host.grammar import GrammarSampler
from chatdesk.engine.host.llama_log import LlamaLog
from chatdesk.engine.host.load_setup import (
    cpu_flash_attn,
    gpu_backend_name,
    kv_shape,
    state_budgets,
    uses_repacked_weights,
)
from chatdesk.engine.host.model import (
    ContextParams,
    DecodeCancelled,
    DecodeFailed,
    LoadedModel,
    LoadFailed,
    open_model,
)
from chatdesk.engine.host.probabilities import ProbabilityProbe, WireChoice
from chatdesk.engine.host.prompt_cache import PreparedPrompt, PromptCache
from chatdesk.engine.host.prompting import PromptBuilder, PromptError, cut_after_reply
from chatdesk.engine.host.reply_parts import prompt_progress, reply_stats, stop_strings
from chatdesk.engine.host.sampling import GrammarError, SamplerChain, resolve_seed
from chatdesk.engine.host.speculative import (
    DRAFT_MAX,
    SPECULATION_MODES,
    SpeculationGate,
    Speculator,
)
from chatdesk.engine.host.warming import warm as warm_conversation
from chatdesk.engine.request import ChatRequest
from chatdesk.engine.templates import (
    MAX_RENDER_SECONDS,
    PromptPiece,
    TemplateError,
    render_scope,
    resolve_template,
)
from chatdesk.engine.threads import default_threads
from chatdesk.engine.tool_constraint import tool_constraint
from chatdesk.engine.tool_prompt import generic_tool_prompt, template_takes_tools
from chatdesk.engine.types import (
    ContextFitted,
    EngineError,
    ErrorCode,
    LoadOptions,
    ModelInfo,
    PromptProgress,
    ReplyStats,
    SamplingSettings,
)
from chatdesk.gguf_metadata import (
    GGUFError,
    GGUFMetadata,
    control_token_texts,
    recommended_sampling,
    validate_gguf,
)
from chatdesk.tools.formats import thinking_opened_by, tool_format_for

DEFAULT_BATCH = 512
GPU_PROMPT_CHUNK = 128  # no abort callback on GPU backends: small chunks keep cancel quick
EXACT_CHECK_TOKENS = DRAFT_MAX + 1  # the largest verification batch (Gemma 3 270M without
# repacked weights gave exact logits in batches of 2 and 5 but not of 8 to 16)


@dataclass(frozen=True)
class PromptInputs:
    """A request as the chat template takes it: plain message dicts, the system prompt
    (with the tools written in when the template has no place for them), the tools."""

    messages: list[dict[str, Any]]
    system_prompt: str
    tools: list[dict[str, Any]] | None
    add_generation_prompt: bool = True
    reserved: int = 0  # tokens the fit keeps free for what joins the question later


@dataclass(frozen=True)
class ReplyJob:
    """How a running reply reports back, and its cancel flag."""

    cancel: threading.Event
    on_fitted: Callable[[ContextFitted], None]
    on_text: Callable[[str], None]
    on_progress: Callable[[PromptProgress], None] | None = None  # long prompts only
    on_choice: Callable[[WireChoice], None] | None = None  # token probabilities, when asked


def prompt_inputs(request: ChatRequest, takes_tools: bool) -> PromptInputs:
    """The template's inputs for ``request`` (tool_choice "none": no tools shown)."""
    tools = request.openai_tools() if request.tool_choice.mode != "none" else None
    system = request.system_prompt
    if tools and not takes_tools:
        system, tools = generic_tool_prompt(system, tools), None
    add = request.add_generation_prompt and not request.continues
    messages = request.template_messages()
    return PromptInputs(messages, system, tools, add, request.reserved_tokens)


class EngineFailure(Exception):
    """A request failed in a way the user should be told about."""

    def __init__(self, code: str, message: str, stats: ReplyStats | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.stats = stats


class Engine:
    """Owns at most one loaded model; every method runs on the host's worker thread."""

    def __init__(self, log: LlamaLog) -> None:
        self.log = log
        self.model: LoadedModel | None = None
        self.info: ModelInfo | None = None
        self.metadata: GGUFMetadata | None = None
        self.template: tuple[str, str] = ("", "")
        self.cache: PromptCache | None = None
        self.prompts: PromptBuilder | None = None
        self.last_load_error: str | None = None
        self.speculation = SpeculationGate()  # checked at the first speculative reply
        self.capabilities = local_capabilities(takes_tools=True)  # before a load: at best
        self.busy = False
        llama_cpp.llama_backend_init()

    # -- load / unload --------------------------------------------------------------------

    def load(self, options: LoadOptions) -> ModelInfo:
        """Validate, then load ``options.path``; replaces (and first frees) any loaded model.

        A file that fails validation (not GGUF, truncated, unsupported) is refused before
        anything is freed: the loaded model stays loaded (error code ``invalid_model``)."""
        started = time.perf_counter()
        try:
            check_speculation_mode(options.speculation)
            metadata = self._validate(Path(options.path))
        except EngineFailure as failure:
            self.last_load_error = str(failure)
            raise
        self.unload()
        try:
            info = self._load(options, metadata, started)
        except EngineFailure as failure:
            self.last_load_error = str(failure)
            raise
        self.last_load_error = None
        return info

    def _load(self, options: LoadOptions, metadata: GGUFMetadata, started: float) -> ModelInfo:
        path = Path(options.path)
        gpu = gpu_backend_name()
        n_gpu_layers = options.n_gpu_layers
        if n_gpu_layers is None:
            n_gpu_layers = -1 if gpu else 0
        self.log.clear()
        print(f"chatdesk-host: loading {path}", file=sys.stderr, flush=True)
        try:
            raw_model = open_model(str(path), n_gpu_layers)
        except LoadFailed as error:
            raise EngineFailure(ErrorCode.LOAD_FAILED, self._llama_reason(error, path)) from None
        try:
            template = resolve_template(
                metadata.chat_template,
                options.chat_template,
                control_tokens=control_token_texts(metadata),  # no template: guess by tokens
            )
        except TemplateError as error:
            llama_cpp.llama_model_free(raw_model)
            raise EngineFailure(ErrorCode.TEMPLATE, str(error)) from None
        model = self._create_context(raw_model, options, metadata, gpu is not None)
        model.warm_up()
        self.model, self.metadata, self.template = model, metadata, template
        self.speculation = SpeculationGate(
            options.speculation or "auto", repacked=uses_repacked_weights(self.log)
        )
        self.prompts = PromptBuilder(
            model,
            template[0],
            template[1],
            metadata.bos_token or "",
            metadata.eos_token or "",
            tuple(control_token_texts(metadata)),
        )
        self.cache = PromptCache(model, *state_budgets(options, path))
        self.capabilities = local_capabilities(template_takes_tools(template[1]))
        self.info = self._describe(model, metadata, path, gpu, time.perf_counter() - started)
        if self.info.gpu_layers_offloaded:
            model.exact_threads = None  # no CPU attention: the check alone decides
        return self.info

    def _validate(self, path: Path) -> GGUFMetadata:
        if not path.is_file():
            raise EngineFailure(ErrorCode.INVALID_MODEL, f"no model file at {path}")
        try:
            return validate_gguf(path)
        except GGUFError as error:
            raise EngineFailure(ErrorCode.INVALID_MODEL, str(error)) from None
        except OSError as error:
            raise EngineFailure(ErrorCode.INVALID_MODEL, f"cannot read {path}: {error}") from None

    def _llama_reason(self, error: Exception, path: Path) -> str:
        details = "; ".join(self.log.errors())
        return f"{error} ({path.name}){': ' + details if details else ''}"

    def _create_context(
        self, raw_model: Any, options: LoadOptions, metadata: GGUFMetadata, gpu: bool
    ) -> LoadedModel:
        shape = kv_shape(raw_model)
        trained = metadata.context_length or int(llama_cpp.llama_model_n_ctx_train(raw_model))
        try:
            n_ctx = memory.choose_context(options.n_ctx, trained, shape, memory.available_memory())
        except memory.ContextTooLarge as error:
            llama_cpp.llama_model_free(raw_model)
            raise EngineFailure(ErrorCode.OUT_OF_MEMORY, str(error)) from None
        except ValueError as error:
            llama_cpp.llama_model_free(raw_model)
            raise EngineFailure(ErrorCode.BAD_REQUEST, str(error)) from None
        threads, batch_threads = default_threads()
        params = ContextParams(
            n_ctx=n_ctx,
            n_batch=min(options.n_batch or DEFAULT_BATCH, n_ctx),
            n_ubatch=options.n_ubatch,
            n_threads=options.n_threads or threads,
            n_threads_batch=options.n_threads or batch_threads,
            flash_attn=cpu_flash_attn(options.flash_attn, gpu),
            adaptive_threads=options.n_threads is None and not gpu,
        )
        try:
            return LoadedModel(raw_model, params)
        except LoadFailed as error:
            raise EngineFailure(
                ErrorCode.LOAD_FAILED, self._llama_reason(error, Path(options.path))
            ) from None

    def _describe(
        self,
        model: LoadedModel,
        metadata: GGUFMetadata,
        path: Path,
        gpu: str | None,
        seconds: float,
    ) -> ModelInfo:
        n_layers = int(llama_cpp.llama_model_n_layer(model.model))
        offloaded = self.log.offloaded_layers()
        if offloaded is None:
            offloaded = 0
        flash = model.params.flash_attn  # llama.cpp logs it only where it chose (auto)
        if flash is None:
            flash = any("Flash Attention enabled" in line for _level, line in self.log.lines)
        return ModelInfo(
            path=str(path),
            name=metadata.name or path.stem,
            architecture=metadata.architecture,
            parameter_count=metadata.parameter_count
            or int(llama_cpp.llama_model_n_params(model.model)),
            quantization=metadata.file_type,
            file_size=metadata.total_size_bytes,
            trained_context=metadata.context_length
            or int(llama_cpp.llama_model_n_ctx_train(model.model)),
            n_ctx=model.n_ctx,
            n_layers=n_layers,
            chat_template_present=bool(metadata.chat_template),
            template_name=self.template[0],
            backend=gpu if gpu and offloaded > 0 else "CPU",
            gpu_layers_offloaded=offloaded,
            n_threads=model.params.n_threads,
            n_batch=model.n_batch,
            flash_attn=flash,
            load_seconds=seconds,
            tool_format=tool_format_for(self.template[1], template_takes_tools(self.template[1])),
            thinking_open=thinking_opened_by(self.template[1]),
            recommended_sampling=recommended_sampling(metadata),
            kv_bytes_per_token=kv_shape(model.model).bytes_per_token,
        )

    def unload(self) -> None:
        """Free the model, its context and the saved conversation states."""
        model, self.model = self.model, None
        cache, self.cache = self.cache, None
        self.prompts = None
        self.info = None
        self.metadata = None
        if cache is not None:
            cache.close()
        if model is not None:
            model.close()
        memory.release_free_heap()

    def _require_cache(self) -> PromptCache:
        if self.cache is None:
            raise EngineFailure(ErrorCode.NO_MODEL, "no model is loaded")
        return self.cache

    def _require_model(self) -> LoadedModel:
        if self.model is None:
            reason = (
                f" (the last load failed: {self.last_load_error})" if self.last_load_error else ""
            )
            raise EngineFailure(ErrorCode.NO_MODEL, f"no model is loaded{reason}")
        return self.model

    # -- prompts --------------------------------------------------------------------------

    def render(self, request: ChatRequest) -> tuple[str, int]:
        """The prompt text ``generate`` would send for ``request`` (fitted into the context
        the same way) and its token count; refused as ``generate`` refuses it."""
        model, prompts = self._require_model(), self._require_prompts()
        self._refuse_unsupported(request)
        budget = reply_budget(request.sampling.max_tokens, model.n_ctx)
        inputs = prompt_inputs(request, self.capabilities.tools == "native")
        _fit, pieces = self._prompt_for(inputs, budget, request.continues, threading.Event())
        return "".join(piece.text for piece in pieces), len(prompts.tokenize(pieces))

    def count_tokens(self, texts: object) -> list[int]:
        """Tokens each text takes as a message's content (``PromptBuilder.content_tokens``)."""
        if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
            raise ValueError("texts must be a list of strings")
        prompts = self._require_prompts()
        return [prompts.content_tokens(text) for text in texts]

    def _refuse_unsupported(self, request: ChatRequest) -> None:
        try:
            refuse_unsupported(request, self.capabilities, "The local engine")
        except EngineError as error:
            raise EngineFailure(error.code, error.message) from None

    def _require_prompts(self) -> PromptBuilder:
        self._require_model()
        assert self.prompts is not None
        return self.prompts

    def _fit(self, inputs: PromptInputs, budget: int) -> FitResult:
        model, prompts = self._require_model(), self._require_prompts()
        render = functools.partial(prompts.render, tools=inputs.tools)
        try:
            return fit_conversation(
                inputs.system_prompt,
                inputs.messages,
                render,
                prompts.count,
                model.n_ctx,
                budget,
                size=prompts.size,
                reserved=inputs.reserved,
            )
        except ContextOverflowError as error:
            raise EngineFailure(ErrorCode.MESSAGE_TOO_LONG, str(error)) from None
        except PromptError as error:
            raise EngineFailure(ErrorCode.TEMPLATE, str(error)) from None

    # -- replies --------------------------------------------------------------------------

    def generate(self, request: ChatRequest, job: ReplyJob) -> ReplyStats:
        """Fit, evaluate the new part of the prompt, stream the reply; its stats. A request
        asking for what this engine cannot honour is refused before anything runs."""
        model = self._require_model()
        self._refuse_unsupported(request)
        budget = reply_budget(request.sampling.max_tokens, model.n_ctx)
        try:  # a schema that cannot be enforced exactly is refused here, before any token
            native = self.capabilities.tools == "native"
            family = self.info.tool_format if self.info else None
            constraint = constraint_for(request) or tool_constraint(request, native, budget, family)
        except SchemaRefused as refused:
            raise EngineFailure(ErrorCode.BAD_REQUEST, str(refused)) from None
        inputs = prompt_inputs(request, self.capabilities.tools == "native")
        prepare = functools.partial(self._prompt_for, inputs, budget, request.continues)
        return self._reply(
            prepare,
            request.sampling,
            request.conversation_key,
            job,
            continuing=request.continues,
            grammar=constraint.grammar if constraint else None,
        )

    def warm(self, request: ChatRequest, cancel: threading.Event) -> dict[str, Any]:
        """Make the KV cache hold ``request``'s conversation before its next turn is sent
        (chatdesk/engine/host/warming.py); a set ``cancel`` stops it."""
        self._refuse_unsupported(request)
        return warm_conversation(self, request, cancel)

    def complete(self, prompt: str, settings: SamplingSettings, job: ReplyJob) -> ReplyStats:
        """Continue ``prompt`` as plain text (no chat template, nothing dropped)."""
        model = self._require_model()
        budget = model.n_ctx - reply_budget(settings.max_tokens, model.n_ctx)

        def prepare(_cancel: threading.Event) -> tuple[FitResult, list[PromptPiece]]:
            return FitResult([], 0, 0, prompt, budget), [PromptPiece(prompt)]

        return self._reply(prepare, settings, None, job, raw=True)

    def _reply(
        self,
        prepare: Callable[[threading.Event], tuple[FitResult, list[PromptPiece]]],
        settings: SamplingSettings,
        conversation_key: str | None,
        job: ReplyJob,
        *,
        continuing: bool = False,
        raw: bool = False,
        grammar: str | None = None,
    ) -> ReplyStats:
        """Prepare the prompt (``prepare``), evaluate its new part, stream the reply.
        ``continuing``: carry on an unfinished reply; ``raw``: a text completion."""
        started = time.perf_counter()
        model = self._require_model()
        try:
            fit, pieces = prepare(job.cancel)
        except EngineFailure:
            if job.cancel.is_set():  # Stop while the template rendered: a cancelled reply
                return ReplyStats(finish_reason="cancelled")
            raise
        cache, prompts = self._require_cache(), self._require_prompts()
        canonical = prompts.tokenize(pieces)
        text = "".join(piece.text for piece in pieces)
        if not text or not canonical:  # llama.cpp aborts on an empty batch
            raise EngineFailure(
                ErrorCode.TEMPLATE,
                "the chat template rendered an empty prompt for this conversation "
                f"({prompts.template_name}); nothing was sent to the model",
            )
        if raw and len(canonical) > fit.token_budget:
            raise EngineFailure(
                ErrorCode.MESSAGE_TOO_LONG,
                f"The prompt needs {len(canonical):,} tokens, but only {fit.token_budget:,} fit "
                f"(context {model.n_ctx:,} minus the reply's share).",
            )
        job.on_fitted(
            ContextFitted(
                len(fit.messages) - fit.pinned, fit.dropped_count, len(canonical), model.n_ctx
            )
        )
        plan = cache.prepare(
            conversation_key, text, canonical, lambda skip: prompts.tokenize(pieces, skip)
        )
        seed = resolve_seed(settings)
        base: dict[str, Any] = {
            "prompt_tokens": len(plan.tokens),
            "dropped_messages": fit.dropped_count,
            "kv_source": plan.source,
            "seed": seed,
            "n_ctx": model.n_ctx,
        }
        try:
            position = self._evaluate_prompt(plan, job.cancel, job.on_progress)
        except DecodeCancelled:
            return ReplyStats(finish_reason="cancelled", **base)
        prompt_done = time.perf_counter()
        outcome = self._decode(
            settings, seed, plan.tokens, position, job, continuing=continuing, grammar=grammar
        )
        stats = reply_stats(outcome, base, len(plan.tokens) - plan.keep, started, prompt_done)
        if outcome.error:
            raise EngineFailure(ErrorCode.INTERNAL, outcome.error, stats)
        return stats

    def _prompt_for(
        self, inputs: PromptInputs, budget: int, continuing: bool, cancel: threading.Event
    ) -> tuple[FitResult, list[PromptPiece]]:
        """Fit the conversation and render its prompt: one template budget for both, which
        Stop (``cancel``) ends at once; remembered for equal inputs (``prompt_memo``)."""
        with render_scope(MAX_RENDER_SECONDS, cancel):
            fit_and_render = functools.partial(self._fit_and_render, inputs, budget, continuing)
            return self._require_prompts().fitted((inputs, budget, continuing), fit_and_render)

    def _fit_and_render(
        self, inputs: PromptInputs, budget: int, continuing: bool
    ) -> tuple[FitResult, list[PromptPiece]]:
        """The fitted messages' prompt in pieces; cut after the unfinished reply (the last
        message) when ``continuing``, to carry on writing it."""
        fit, prompts = self._fit(inputs, budget), self._require_prompts()
        system, add, tools = inputs.system_prompt, inputs.add_generation_prompt, inputs.tools
        try:
            pieces = prompts.pieces(system, fit.messages, add, tools)
            if continuing:
                pieces = cut_after_reply(pieces, str(fit.messages[-1].get("content", "")))
        except PromptError as error:
            raise EngineFailure(ErrorCode.TEMPLATE, str(error)) from None
        return fit, pieces

    def _evaluate_prompt(
        self,
        plan: PreparedPrompt,
        cancel: threading.Event,
        on_progress: Callable[[PromptProgress], None] | None = None,
        checkpoint: bool = True,
    ) -> int:
        """Evaluate the plan's new tokens; the position after them. A reply's prompt takes
        the window checkpoint at its end (``checkpoint``; a warm's does not)."""
        model, cache = self._require_model(), self._require_cache()
        chunk = GPU_PROMPT_CHUNK if self.info and self.info.gpu_layers_offloaded else None
        new_tokens = plan.tokens[plan.keep :]
        progress = prompt_progress(len(new_tokens), on_progress)
        try:
            position = model.evaluate(new_tokens, plan.keep, cancel, chunk, progress)
        except DecodeCancelled as stopped:
            cache.keep_evaluated(plan.keep, new_tokens[: max(0, stopped.evaluated - plan.keep)])
            raise
        except DecodeFailed as error:
            cache.forget_after(plan.keep)
            raise EngineFailure(ErrorCode.INTERNAL, f"prompt evaluation failed: {error}") from None
        cache.record_prompt(new_tokens, checkpoint)
        return position

    def _decode(
        self,
        settings: SamplingSettings,
        seed: int,
        prompt: list[int],
        position: int,
        job: ReplyJob,
        *,
        continuing: bool = False,
        grammar: str | None = None,
    ) -> DecodeOutcome:
        model = self._require_model()
        suppressed = model.eog_tokens() if settings.ignore_eos else []
        history = prompt[-settings.repeat_last_n :] if settings.repeat_last_n > 0 else []
        probing = settings.logprobs > 0 and job.on_choice is not None
        in_chain = grammar if probing else None  # probabilities shown are the constrained ones
        checker: GrammarSampler | None = None
        try:
            chain = SamplerChain(
                settings,
                seed,
                model.n_vocab,
                suppressed,
                grammar=(model.vocab, in_chain) if in_chain else None,
                history=history,
                slot=model.chain_slot,
            )
            checker = GrammarSampler(model, chain, grammar) if grammar and not probing else None
        except GrammarError as error:
            raise EngineFailure(ErrorCode.BAD_REQUEST, str(error)) from None
        probe = None
        if probing and job.on_choice is not None:
            greedy = settings.temperature <= 0
            probe = ProbabilityProbe(model, chain, settings.logprobs, greedy, job.on_choice)
        try:
            outcome = decode_reply(
                model,
                chain,
                StreamingText(stop_strings(settings, model), strip_leading=not continuing),
                position=position,
                max_tokens=settings.max_tokens,
                cancel=job.cancel,
                on_text=job.on_text,
                stop_at_eog=not settings.ignore_eos,
                probe=probe,
                draw=checker.sample if checker else None,
                speculator=self._speculator(settings, prompt),
            )
        finally:
            if checker is not None:
                checker.close()
            chain.close()
        self._require_cache().record_reply(outcome.evaluated)
        return outcome

    def _speculator(self, settings: SamplingSettings, prompt: list[int]) -> Speculator | None:
        """A drafter for this reply where speculative decoding is on for it and the loaded
        model passed (or has yet to take) the once-per-model check (``_check_batches``)."""
        gate = self.speculation
        if not settings.speculative or gate.on is False:
            return None
        probe = prompt[-EXACT_CHECK_TOKENS:]
        check = None if gate.on else functools.partial(self._check_batches, probe)
        return Speculator(prompt, gate.slope, check, eager=gate.mode == "always")

    def _check_batches(self, probe: list[int], position: int) -> float | None:
        """Once per model, when a reply first has drafts to verify (so a reply that never
        drafts never pays it, and it is not part of the prompt's time): do a batch and
        single tokens give the same logits here, and what does a batch cost? Evaluated at
        the free positions from ``position`` and removed again (only ever asked at a thread
        count where batches may be exact). Unjudged when there is no room this time (the
        next reply checks). The measured slope where speculation is on, else None."""
        model, gate = self._require_model(), self.speculation
        if len(probe) < EXACT_CHECK_TOKENS or position + len(probe) >= model.n_ctx:
            return None
        try:
            check = model.check_batches(probe, position, repeats=2)
        except DecodeFailed:
            gate.on = False
            if not model.truncate(position):  # the window lost: the reply cannot go on
                raise
            return None
        gate.judge(check.exact, check.slope)
        return gate.slope if gate.on else None

    # -- status ---------------------------------------------------------------------------

    def idle(self) -> None:
        """Nothing to do for a moment after a reply: save the conversation's KV state now
        (``PromptCache.keep_current``), so a later switch need not."""
        if self.cache is not None:
            self.cache.keep_current()

    def status(self) -> dict[str, Any]:
        """A snapshot for the client's ``status()`` (safe to call from any thread)."""
        info, cache = self.info, self.cache
        return {
            "model": info.to_dict() if info else None,
            "busy": self.busy,
            "context_tokens": len(cache.kv) if cache else 0,
            "conversation_key": cache.key if cache else None,
            "saved_states": len(cache.states) if cache else 0,
            "context_saved": bool(cache and cache.current_saved()),
            "saved_state_bytes": cache.states.total_bytes if cache else 0,
            "saved_state_budget": cache.states.max_bytes if cache else 0,
            "disk_state_bytes": cache.disk.used_bytes() if cache and cache.disk else 0,
            "disk_state_budget": cache.disk.max_bytes if cache and cache.disk else 0,
            "rss_bytes": memory.resident_memory(),
            "threads": self.model.threads if self.model else None,  # the governor's latest
            "last_load_error": self.last_load_error,
            "speculation": self.speculation.describe(),
        }


def check_speculation_mode(mode: str | None) -> None:
    """Refuse an unknown ``LoadOptions.speculation`` before anything is loaded or freed."""
    if mode is not None and mode not in SPECULATION_MODES:
        raise EngineFailure(
            ErrorCode.BAD_REQUEST,
            f"speculation must be one of {', '.join(SPECULATION_MODES)}, not {mode!r}",
        )
