"""Local documents: collections of the user's files, indexed for retrieval with citations.

Qt-free. ``extract`` (PDF, DOCX, Markdown, text, HTML, code) -> ``chunking`` (provenance:
file, page, lines, characters) -> ``indexer`` (incremental, resumable, cancellable, into
``documents.db``: ``index_db``, ``index``) -> ``retrieval`` (FTS5 keywords + vectors from an
embedding GGUF in the engine host, merged by reciprocal-rank fusion) -> ``context`` (the
numbered passages a prompt carries). ``chatdesk.services.documents`` is the one service the
window and the command line use.
"""
