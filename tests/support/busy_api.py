"""API clients that keep ChatDesk's API server busy: each sends its next request as soon as
its last is answered, so one reply runs and another waits all the time."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import openai

CLIENTS = ("ann", "bob")


@contextlib.contextmanager
def busy_clients(url: str, max_tokens: int = 40) -> Iterator[None]:
    """Two ``openai`` clients (``user`` ann and bob) looping on short requests until the
    block ends (then each finishes the request it has running)."""
    model = openai.OpenAI(base_url=url, api_key="x", max_retries=0).models.list().data[0].id
    stop = threading.Event()

    def loop(user: str) -> None:
        api = openai.OpenAI(base_url=url, api_key="x", max_retries=0, timeout=300)
        while not stop.is_set():
            api.chat.completions.create(
                model=model, user=user, max_tokens=max_tokens, temperature=0,
                messages=[{"role": "user", "content": f"{user}: tell me about the sea."}],
                extra_body={"ignore_eos": True},
            )  # fmt: skip

    threads = [threading.Thread(target=loop, args=(user,), daemon=True) for user in CLIENTS]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=300)
