"""Document benchmarks: indexing rate, embedding throughput, query latency, memory, quality.

    python tests/benchmarks/bench_docs.py [--pages 1000] [--embed-chunks 64] [--chunks 100000]

1. Index a 1,000-page PDF (written by hand, about 2,400 characters a page) through the
   documents service in a fresh process, keywords only: pages/s, chunks/s, and the
   process's peak RSS; then a 4x larger PDF, to show that memory does not grow with size.
   Reference in the same process: pypdfium2 reading the text of every page, nothing else.
2. Embedding throughput: chunks/s through the engine host (``EngineClient.embed``, the
   indexer's batch size) against llama-cpp-python's own ``Llama.embed`` on the same model,
   same context, batch and threads, in this process, in the same run. Target: >= 0.9x.
3. Query latency at 100,000 chunks (keywords + vectors: FTS5 bm25 and an exact cosine
   search over 384-dimension vectors, fused by RRF), warm, after the first query loaded
   the vector matrix; the query vector is given (embedding one query with the model is
   timed on its own). Target: <= 50 ms.
4. Retrieval quality: 12 questions over a PDF, a DOCX and a Markdown file, with the file
   and page (or line) where the answer is; hit@1, hit@3 and MRR, keywords only and hybrid.

The model is the real starter model (SmolLM2-135M-Instruct, mean pooling) unless ``--model``
names an embedding GGUF. The last line printed is one JSON object with all figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chatdesk.docs.chunking import Chunk
from chatdesk.docs.index import DocumentIndex, insert_chunks, insert_vectors, upsert_file
from chatdesk.docs.records import Collection
from chatdesk.docs.retrieval import Retriever
from chatdesk.engine.client import EngineClient
from chatdesk.services.documents import DocumentService
from tests.benchmarks.docs_quality import QUESTIONS, score, write_quality_corpus
from tests.support.pdf_factory import write_pdf

REPO = Path(__file__).resolve().parents[2]
WORD_LIST = (
    "river mountain station engine signal ticket carriage harbour bridge tunnel valley "
    "forest meadow winter summer autumn spring market council village farmer miller baker "
    "lantern window garden orchard castle tower library chapter letter story journey"
)
WORDS = WORD_LIST.split()

INDEX_SCRIPT = """
import json, resource, sys, time
sys.path.insert(0, {repo!r})
from chatdesk.services.documents import DocumentService
from chatdesk.docs.pdf import pdf_sections
from pathlib import Path
started = time.perf_counter()
pages_read = sum(1 for _ in pdf_sections(Path({pdf!r})))
extract_seconds = time.perf_counter() - started
service = DocumentService()
service.add([__import__('pathlib').Path({pdf!r})], 'bench')
started = time.perf_counter()
report = service.index_collection('bench')
seconds = time.perf_counter() - started
service.close()
p = report.progress
def peak_mb():
    # VmHWM starts again at exec; ru_maxrss would count the forked parent's pages too
    try:
        for line in open('/proc/self/status'):
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"pages": p.pages, "chunks": p.chunks, "seconds": seconds,
    "peak_rss_mb": peak_mb(), "pypdfium2_text_pages_per_s": pages_read / extract_seconds}}))
"""


def page_lines(number: int, rng: random.Random) -> list[str]:
    """About 2,400 characters of prose-like lines for one page."""
    lines = []
    for k in range(40):
        words = " ".join(rng.choice(WORDS) for _ in range(9))
        lines.append(f"{words} p{number}l{k}.")
    return lines


def index_pdf(pages: int, folder: Path) -> dict[str, Any]:
    """Index a ``pages``-page PDF in a fresh process; its figures."""
    rng = random.Random(pages)
    pdf = write_pdf(folder / f"book-{pages}.pdf", [page_lines(n, rng) for n in range(pages)])
    home = folder / f"home-{pages}"
    env = {**os.environ, "CHATDESK_HOME": str(home), "PYTHONPATH": str(REPO)}
    script = INDEX_SCRIPT.format(repo=str(REPO), pdf=str(pdf))
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["pages_per_s"] = result["pages"] / result["seconds"]
    result["chunks_per_s"] = result["chunks"] / result["seconds"]
    return result


def embedding_texts(count: int) -> list[str]:
    rng = random.Random(7)
    return [" ".join(rng.choice(WORDS) for _ in range(150)) for _ in range(count)]


def open_reference(model: Path) -> Any:
    """llama-cpp-python's own ``Llama`` in embedding mode, opened with the host's settings
    (context, batch, threads, pooling) in this process; its ``embed`` is the reference."""
    from chatdesk.engine.host.embedding import load_embedding_model

    return load_embedding_model(model)


def timed(embed: Any, texts: list[str], batch: int = 32) -> float:
    """Seconds to embed ``texts`` in batches of the indexer's size."""
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        embed(texts[start : start + batch])
    return time.perf_counter() - started


def bench_embedding(model: Path, count: int, repeats: int) -> dict[str, Any]:
    """Host chunks/s against in-process ``Llama.embed``, interleaved, best of ``repeats``."""
    texts = embedding_texts(count)
    client = EngineClient()
    host = lambda part: client.embed(str(model), part).result()  # noqa: E731
    llm = open_reference(model)
    host(texts[:2]), llm.embed(texts[:2])  # both models open before any clock starts
    host_times, reference_times = [], []
    for repeat in range(repeats):
        pair = [(host_times, host), (reference_times, llm.embed)]
        for times, embed in pair if repeat % 2 == 0 else pair[::-1]:
            times.append(timed(embed, texts))
    dimensions = host(["x"]).shape[1]
    client.close()
    llm.close()
    best_host, best_reference = count / min(host_times), count / min(reference_times)
    return {
        "host_chunks_per_s": best_host,
        "llama_embed_chunks_per_s": best_reference,
        "ratio": best_host / best_reference,
        "dimensions": dimensions,
        "texts": count,
        "host_runs_s": host_times,
        "llama_embed_runs_s": reference_times,
    }


def build_large_index(path: Path, chunks: int, dim: int) -> Collection:
    """An index of ``chunks`` synthetic chunks (Zipf-like words) with random vectors."""
    rng = np.random.default_rng(1)
    vocabulary = [f"{w}{n}" for n in range(600) for w in WORDS]
    weights = 1.0 / np.arange(1, len(vocabulary) + 1)
    weights /= weights.sum()
    index = DocumentIndex(path)
    collection = index.ensure_collection("large", None)
    per_file = 1000
    for first in range(0, chunks, per_file):
        with index.transaction() as conn:
            file_id = upsert_file(conn, collection.id, Path(f"/bench/file{first // per_file}.txt"))
            words = rng.choice(len(vocabulary), size=(per_file, 80), p=weights)
            batch = [
                Chunk(" ".join(vocabulary[i] for i in row), None, k, k, 0, 0)
                for k, row in enumerate(words)
            ]
            ids = insert_chunks(conn, file_id, 0, batch)
            insert_vectors(conn, ids, rng.standard_normal((per_file, dim), dtype=np.float32))
            conn.execute(
                "UPDATE files SET state = 'indexed', chunks = ? WHERE id = ?", [per_file, file_id]
            )
    index.close()
    return collection


class GivenVector:
    """An embedder whose query vector is fixed (the model's time is measured apart)."""

    def __init__(self, vector: np.ndarray) -> None:
        self.model = "given"
        self.vector = vector

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def embed_query(self, text: str) -> np.ndarray:
        return self.vector


def bench_query(folder: Path, chunks: int, dim: int = 384) -> dict[str, Any]:
    """Warm hybrid query latency over ``chunks`` chunks."""
    path = folder / "large.db"
    started = time.perf_counter()
    build_large_index(path, chunks, dim)
    build = time.perf_counter() - started
    index = DocumentIndex(path)
    collection = index.collection("large")
    rng = np.random.default_rng(2)
    retriever = Retriever(index, lambda _c: GivenVector(rng.standard_normal(dim, dtype=np.float32)))
    size = len(WORDS)
    queries = [
        f"{WORDS[n % size]}{n % 600} {WORDS[(n * 3) % size]}17 the "
        f"{WORDS[(n * 7) % size]}{(n * 13) % 600} {WORDS[(n * 11) % size]}3"
        for n in range(60)
    ]
    started = time.perf_counter()
    retriever.search([collection], queries[0])
    cold = time.perf_counter() - started
    times = []
    for query in queries[1:]:
        started = time.perf_counter()
        hits = retriever.search([collection], query, limit=8)
        times.append((time.perf_counter() - started) * 1000)
        assert hits
    index.close()
    times.sort()
    return {
        "chunks": chunks,
        "dimensions": dim,
        "build_s": build,
        "cold_first_query_ms": cold * 1000,
        "p50_ms": statistics.median(times),
        "p95_ms": times[int(len(times) * 0.95) - 1],
        "max_ms": times[-1],
        "min_ms": times[0],
    }


def bench_quality(model: Path, folder: Path) -> dict[str, Any]:
    """Hit@1, hit@3 and MRR of the question set, keywords only and hybrid."""
    corpus = write_quality_corpus(folder / "quality")
    results = {}
    client = EngineClient()
    for label, embedding in (("keywords", None), ("hybrid", model)):
        service = DocumentService(folder / f"quality-{label}", engine=client)
        service.add([corpus], "quality", embedding_model=embedding)
        service.index_collection("quality")
        results[label] = score(partial(service.search, collections=["quality"], limit=3), corpus)
        service.close()
    started = time.perf_counter()
    client.embed(str(model), ["How long is the tunnel?"]).result()
    results["query_embedding_ms"] = (time.perf_counter() - started) * 1000
    client.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--embed-chunks", type=int, default=64)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", type=Path, help="an embedding GGUF (default: starter model)")
    args = parser.parse_args()
    if args.model is None:
        from tests.support.real_model import starter_model

        args.model, why = starter_model()
        if args.model is None:
            print(f"no model: {why}")
            return 1
    figures: dict[str, Any] = {"model": args.model.name, "questions": len(QUESTIONS)}
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        for pages in (args.pages, args.pages * 4):
            figures[f"index_{pages}_pages"] = result = index_pdf(pages, folder)
            print(
                f"index {pages} pages: {result['pages_per_s']:.0f} pages/s, "
                f"{result['chunks_per_s']:.0f} chunks/s, peak RSS {result['peak_rss_mb']:.0f} MB "
                f"(pypdfium2 text alone: {result['pypdfium2_text_pages_per_s']:.0f} pages/s)",
                flush=True,
            )
        figures["embedding"] = emb = bench_embedding(args.model, args.embed_chunks, args.repeats)
        print(
            f"embedding: host {emb['host_chunks_per_s']:.2f} chunks/s, Llama.embed "
            f"{emb['llama_embed_chunks_per_s']:.2f} chunks/s, ratio {emb['ratio']:.3f}",
            flush=True,
        )
        figures["query"] = query = bench_query(folder, args.chunks)
        print(
            f"query at {query['chunks']} chunks: p50 {query['p50_ms']:.1f} ms, p95 "
            f"{query['p95_ms']:.1f} ms, min {query['min_ms']:.1f} ms, "
            f"max {query['max_ms']:.1f} ms (cold "
            f"{query['cold_first_query_ms']:.0f} ms)",
            flush=True,
        )
        figures["quality"] = quality = bench_quality(args.model, folder)
        print(f"quality: {json.dumps(quality)}", flush=True)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
