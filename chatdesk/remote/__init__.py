"""Remote engines: OpenAI-compatible servers (vLLM, llama-server, Ollama, LM Studio...).

``RemoteEngine`` (``chatdesk.remote.engine``) implements the ``Engine`` protocol over HTTP,
so the window, the command line and the API server use a remote model exactly like a local
one. ``RemoteEngineRegistry`` (``chatdesk.remote.registry``) remembers the servers the user
added; their API keys live in the OS keyring (``chatdesk.remote.keys``). Nothing here
imports Qt or llama.cpp.
"""
