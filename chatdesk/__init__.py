"""ChatDesk: an offline desktop chat app for local GGUF language models."""

__version__ = "0.1.0"
