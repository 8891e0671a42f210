"""ChatDesk's own OpenAI-compatible API server (FastAPI on uvicorn).

``chatdesk.api.app.create_app`` builds the ASGI app over one engine through a
``FairScheduler`` (``chatdesk.api.scheduler``): one reply at a time, clients served
round-robin, and a priority lane for the window. ``chatdesk.api.server`` runs it with
uvicorn and enforces the bind-address rules. Nothing here imports Qt or llama.cpp.
"""
