"""Retrieval to prompt: whole documents when they fit, numbered retrieved passages otherwise."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from chatdesk.docs.citations import cited, file_url, snippet
from chatdesk.docs.context import (
    INSTRUCTIONS,
    DocumentContext,
    Passage,
    added_tokens,
    budget_tokens,
    estimated_tokens,
    with_documents,
)
from chatdesk.docs.retrieval import fuse
from chatdesk.services.documents import DocumentService


def test_small_documents_go_in_whole_with_page_citations(
    service: DocumentService, library: Path
) -> None:
    service.add([library / "report.pdf", library / "notes"], "lib")
    service.index_collection("lib")
    context = service.context_for("How long is the Velta tunnel?", ["lib"], n_ctx=4096)
    assert context.whole
    labels = [p.label for p in context.passages]
    assert labels == [
        "garden.md, lines 1-7",
        "report.pdf, page 1",
        "report.pdf, page 2",
        "report.pdf, page 3",
    ]
    assert [p.number for p in context.passages] == [1, 2, 3, 4]
    prompt = context.prompt("How long is the Velta tunnel?")
    assert prompt.startswith(INSTRUCTIONS)
    assert "[3] report.pdf, page 2\nChapter two: the network." in prompt
    assert prompt.endswith("Question: How long is the Velta tunnel?")


def test_large_documents_are_retrieved_and_trimmed_to_the_budget(
    service: DocumentService, tmp_path: Path
) -> None:
    folder = tmp_path / "big"
    folder.mkdir()
    for n in range(40):
        body = "\n".join(f"Filler line {k} of chapter {n}." for k in range(80))
        (folder / f"ch{n:02d}.md").write_text(f"# Chapter {n}\n\n{body}\n")
    (folder / "ch17.md").write_text("# Chapter 17\n\nThe lighthouse keeper was named Ottoline.\n")
    service.add([folder], "big")
    service.index_collection("big")
    context = service.context_for("Who was the lighthouse keeper?", ["big"], n_ctx=2048)
    assert not context.whole
    assert Path(context.passages[0].file).name == "ch17.md"
    assert sum(estimated_tokens([p.text for p in context.passages])) <= budget_tokens(2048)
    stored = [Passage.from_dict(p.to_dict()) for p in context.passages]
    assert stored == list(context.passages)


def test_no_collections_means_the_question_alone(service: DocumentService) -> None:
    context = service.context_for("Hello?", [], n_ctx=2048)
    assert context.passages == ()
    assert context.prompt("Hello?") == "Hello?"


def test_reciprocal_rank_fusion_prefers_agreement() -> None:
    keywords = [(1, 9.0), (2, 8.0), (3, 7.0)]
    vectors = [(3, 0.9), (4, 0.8), (1, 0.7)]
    fused = fuse([keywords, vectors])
    assert [ident for ident, _ in fused] == [1, 3, 2, 4]
    assert fused[0][1] == 1 / 61 + 1 / 63


def test_citations_are_the_given_passages_in_order_of_first_use(tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    passages = (
        Passage(1, str(pdf), 2, 1, 3, "The Velta tunnel is 14.2 km long.", 0.1),
        Passage(2, str(tmp_path / "notes.md"), None, 4, 9, "word " * 200, 0.05),
    )
    reply = "It is 14.2 km [1]. Roses [2][1] and an invented source [7]."
    assert [p.number for p in cited(reply, passages)] == [1, 2]
    assert file_url(passages[0]) == pdf.as_uri() + "#page=2"
    assert "#" not in file_url(passages[1])
    assert snippet(passages[1]).endswith("…")
    assert len(snippet(passages[1])) <= 301


def test_the_model_sees_the_passages_and_the_store_keeps_the_question() -> None:
    context = DocumentContext((Passage(1, "/d/a.md", None, 1, 1, "Fact.", 0.0),), False)
    history = [{"role": "user", "content": "Q?"}]
    sent = with_documents(history, context)
    assert sent[-1]["content"] == context.prompt("Q?")
    assert "[1] a.md, line 1\nFact." in sent[-1]["content"]
    assert history == [{"role": "user", "content": "Q?"}]


def test_the_room_kept_for_passages_holds_any_question_s_and_no_more_than_the_documents(
    service: DocumentService, library: Path, tmp_path: Path
) -> None:
    """A chat with documents keeps room in its context for their passages (so a warm made
    before the question cuts where Send will): enough for any question's passages, and for
    a small collection only what its documents need, not half the context."""
    big = tmp_path / "big"
    big.mkdir()
    for n in range(40):
        body = "\n".join(f"Filler line {k} of chapter {n}, about trains." for k in range(80))
        (big / f"ch{n:02d}.md").write_text(f"# Chapter {n}\n\n{body}\n")
    service.add([library], "lib")
    service.add([big], "big")
    for name in ("lib", "big"):
        service.index_collection(name)
    questions = ["How long is the Velta tunnel?", "Which chapter is about trains?", "x"]
    for names in (["lib"], ["big"], ["lib", "big"]):
        room = service.passage_tokens(names, 2048)
        for question in questions:
            context = service.context_for(question, names, n_ctx=2048)
            assert added_tokens(context, question, estimated_tokens) <= room
    small = service.passage_tokens(["lib"], 2048)
    whole = service.context_for("x", ["lib"], n_ctx=2048)
    assert whole.whole
    assert small <= 1.25 * added_tokens(whole, "", estimated_tokens)  # a label per chunk
    large = service.passage_tokens(["big"], 2048)
    assert large < 0.65 * 2048  # their budget (half the context), labels and instructions


def one_token_a_character(texts: Sequence[str]) -> list[int]:
    """A tokenizer as dense as the starter model's on Chinese text (about 0.5 characters a
    token) or on numbers (about 1): English prose at 3.5 characters a token, the old
    characters budget, would take three times the room it was given."""
    return [len(text) for text in texts]


def test_passages_are_sized_in_the_model_s_tokens_not_in_characters(
    service: DocumentService, library: Path
) -> None:
    """The documents' share of the context is counted by the model's tokenizer: dense text
    gets fewer characters. Before, a 5,000-character Chinese document in a 4,096-token chat
    failed every question ("the newest message need 10,166 tokens")."""
    service.add([library], "lib")
    service.index_collection("lib")
    question = "How long is the Velta tunnel?"
    n_ctx = 600  # the library is 580 characters: 166 tokens at 3.5 a token, 580 at one
    estimated = service.context_for(question, ["lib"], n_ctx=n_ctx)
    dense = service.context_for(question, ["lib"], n_ctx=n_ctx, count=one_token_a_character)
    assert estimated.whole  # at 3.5 characters a token the documents fit whole
    assert not dense.whole  # at one a token they do not: the best passages instead
    assert "14.2 kilometres" in dense.passages[0].text
    assert sum(len(p.text) for p in dense.passages) <= budget_tokens(n_ctx)


def test_one_passage_larger_than_the_budget_is_cut_to_it(
    service: DocumentService, tmp_path: Path
) -> None:
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "long.md").write_text("The lighthouse keeper was named Ottoline. " * 200)
    service.add([folder], "one")
    service.index_collection("one")
    counted: list[int] = []

    def count(texts: Sequence[str]) -> list[int]:  # denser at the start: one cut too few
        counted.append(len(texts))
        return [len(text) + 3 * len(text[:400]) for text in texts]

    context = service.context_for("Who was the keeper?", ["one"], n_ctx=512, count=count)
    (passage,) = context.passages
    budget = budget_tokens(512)  # 256 tokens: 64 characters at 4 tokens each
    assert count([passage.text])[0] <= budget
    assert len(passage.text) >= 0.8 * budget / 4  # cut to the budget, not far below it
    assert passage.text in (folder / "long.md").read_text()  # a cut of the chunk
    assert len(counted) <= 5  # the hits counted once, then a few tries
