"""Hugging Face catalogue, search and downloads, and the local model library (no Qt).

- ``catalogue``: the curated ``models/catalogue.json`` and the pick for this machine.
- ``system``: RAM / GPU memory and the fits / tight / won't-fit estimate.
- ``names``: untrusted hub names checked; quantisation and split-part parsing.
- ``remote``: hub search and a repository's GGUF files (the only network code besides
  ``download``); ``HF_HUB_OFFLINE`` stops both.
- ``download``: resumable range downloads, SHA-256 verified, atomically moved into the library.
- ``queue``: several downloads in order on a worker thread.
- ``library`` and ``registry``: local models (library, HF cache, used by path).
"""
