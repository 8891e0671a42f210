"""The retrieval quality set: a PDF, a DOCX and a Markdown file with known facts, and
questions (worded differently from the facts) with the file and page or line of the answer.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path

import docx

from chatdesk.docs.records import ChunkHit
from tests.support.pdf_factory import write_pdf

FILLER = [
    "The timetable is reviewed by the operations office twice a year.",
    "Staff wear the blue uniform with the company badge on duty.",
    "Lost property is kept at the central station for three months.",
    "The museum coach is open to visitors on the first Sunday of each month.",
    "Platform announcements are made in two languages.",
    "Cleaning crews work through the night at the main depots.",
    "Catering trolleys serve hot drinks on long-distance services.",
    "The annual report is published each spring on the notice boards.",
]

PDF_FACTS = {
    2: "The Velta tunnel is 14.2 kilometres long and runs under the Marsh mountains.",
    4: "Night trains to Ostrava leave platform nine at 23:40.",
    5: "Dogs travel free if they are carried in a basket.",
    7: "The company was founded in 1872 by Amalia Brandt.",
    9: "Season tickets are refunded pro rata within thirty days.",
    11: "The maximum speed on the coastal line is 160 km/h.",
}
DOCX_FACTS = [
    "The board approved a budget of 4.5 million for new signalling equipment.",
    "The next meeting will be held on 12 March in the Harbour Hall.",
]
MD_FACTS = [
    "Tomatoes should be watered every morning in July.",
    "The greenhouse heater is switched on when the night temperature falls below 5 degrees.",
    "Compost must be turned every two weeks.",
    "Roses are pruned in late February.",
]

# (question, file, page or None, fact text: its line must be inside the hit's line range)
QUESTIONS: list[tuple[str, str, int | None, str]] = [
    ("How long is the Velta tunnel?", "handbook.pdf", 2, PDF_FACTS[2]),
    ("When do the night trains to Ostrava depart?", "handbook.pdf", 4, PDF_FACTS[4]),
    ("Can I bring my dog on the train?", "handbook.pdf", 5, PDF_FACTS[5]),
    ("Who founded the company?", "handbook.pdf", 7, PDF_FACTS[7]),
    ("How do refunds for season tickets work?", "handbook.pdf", 9, PDF_FACTS[9]),
    ("What is the top speed on the coast line?", "handbook.pdf", 11, PDF_FACTS[11]),
    ("How much money was approved for signalling?", "minutes.docx", None, DOCX_FACTS[0]),
    ("Where is the next board meeting?", "minutes.docx", None, DOCX_FACTS[1]),
    ("How often should I water tomatoes in summer?", "garden.md", None, MD_FACTS[0]),
    ("When does the greenhouse heating turn on?", "garden.md", None, MD_FACTS[1]),
    ("How frequently is the compost turned?", "garden.md", None, MD_FACTS[2]),
    ("When should roses be pruned?", "garden.md", None, MD_FACTS[3]),
]


def filler(rng: random.Random, count: int) -> list[str]:
    return [rng.choice(FILLER) for _ in range(count)]


def write_quality_corpus(folder: Path) -> Path:
    """Write the three documents into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(3)
    pages = []
    for number in range(1, 13):
        lines = filler(rng, 12)
        if number in PDF_FACTS:
            lines.insert(6, PDF_FACTS[number])
        pages.append(lines)
    write_pdf(folder / "handbook.pdf", pages)
    document = docx.Document()
    for text in [*filler(rng, 15), DOCX_FACTS[0], *filler(rng, 15), DOCX_FACTS[1]]:
        document.add_paragraph(text)
    document.save(str(folder / "minutes.docx"))
    lines = ["# Garden notes", ""]
    for fact in MD_FACTS:
        lines += [*filler(rng, 12), "", fact, ""]
    (folder / "garden.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def fact_line(corpus: Path, name: str, fact: str) -> int:
    """The 1-based line (or DOCX paragraph) holding ``fact``."""
    if name.endswith(".docx"):
        texts = [p.text for p in docx.Document(str(corpus / name)).paragraphs]
    else:
        texts = (corpus / name).read_text(encoding="utf-8").splitlines()
    return texts.index(fact) + 1


def is_answer(hit: ChunkHit, corpus: Path, question: tuple[str, str, int | None, str]) -> bool:
    """Whether a hit points at the place of the answer."""
    _, name, page, fact = question
    if Path(hit.file).name != name:
        return False
    if page is not None:
        return hit.page == page
    return hit.line_start <= fact_line(corpus, name, fact) <= hit.line_end


def score(search: Callable[[str], Sequence[ChunkHit]], corpus: Path) -> dict[str, float]:
    """hit@1, hit@3 and mean reciprocal rank (within the top 3) over QUESTIONS."""
    ranks = []
    for question in QUESTIONS:
        hits = list(search(question[0]))[:3]
        rank = next((n for n, hit in enumerate(hits, 1) if is_answer(hit, corpus, question)), 0)
        ranks.append(rank)
    total = len(QUESTIONS)
    return {
        "hit@1": sum(r == 1 for r in ranks) / total,
        "hit@3": sum(r > 0 for r in ranks) / total,
        "mrr@3": sum(1 / r for r in ranks if r) / total,
    }
