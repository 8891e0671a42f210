"""Screenshots of the real ChatDesk window, for review.

Run under a virtual X server (Debian: ``apt-get install -y xvfb``)::

    PYTHONPATH=. xvfb-run -a -s "-screen 0 1400x900x24" python scripts/screenshots.py OUT_DIR

It starts the app as ``chatdesk`` does (real store, real engine host) on a fresh data root,
then drives it and saves PNGs: the welcome page, a model that fails to load, a chat with a
code block (an earlier exchange seeded into the store, then one live reply streamed from a
generated test model or from ``--model PATH``), the settings panel, the chat in the dark
theme and the prompt viewer.

``--set docs --model STARTER.gguf docs/images`` takes the user guide's pictures (see
``scripts/doc_screenshots.py``) with the real starter model.

``--set sizes OUT`` takes the window at 800x600, 1180x760 and 1920x1080 with each panel open
(settings, models, token view, tools and audit log, documents) in both themes (issue 27; see
``scripts/size_screenshots.py``).

``--set new-user`` takes the new user's pictures instead (issue 11): the first run with the
starter-model offer, a search hit inside a 500-message chat, and the Settings panel open at
1180x760 and at 800x600 beside a reply that shows ``< 2/2 >`` (with ``--model``, a real model
answers; the test suite's cached starter model is a good one).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEED = 11
SEED_QUESTION = "How do I read a JSON file in Python?"
SEED_REPLY = """Use the standard library's `json` module:

```python
import json
from pathlib import Path

def load_settings(path: Path) -> dict:
    with path.open(encoding="utf-8") as file:
        return json.load(file)  # a long comment line, to show that long code lines wrap in the view
```

| function | reads from |
|---|---|
| `json.load` | an open file |
| `json.loads` | a string |

Raw HTML such as <b>this</b> is shown as text, never rendered.
"""


def wait_until(app: object, condition: Callable[[], bool], timeout: float = 120.0) -> None:
    """Run the event loop until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not reach the expected state")
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.01)


def settle(app: object, seconds: float = 0.4) -> None:
    """Let layouts and paints finish."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.01)


def save(app: object, widget: object, out: Path, name: str) -> Path:
    """Grab what the X server shows for a top-level window."""
    from PySide6.QtGui import QGuiApplication

    settle(app)
    screen = QGuiApplication.primaryScreen()
    pixmap = screen.grabWindow(widget.winId())  # type: ignore[attr-defined]
    path = out / name
    pixmap.save(str(path))
    print(path)
    return path


def test_model(folder: Path) -> Path:
    """A small generated GGUF model (random weights: its replies are gibberish)."""
    from tests.support.gguf_factory import ModelSpec, write_model

    return write_model(folder / "tiny-chatml.gguf", ModelSpec())


def seed_conversation(store: Any, model: Path) -> str:
    """An earlier exchange with a code block, as if from a previous session."""
    seeded = store.create_conversation(title="Reading JSON in Python")
    store.append_message(seeded.id, "user", SEED_QUESTION)
    store.append_message(seeded.id, "assistant", SEED_REPLY, model=str(model))
    return str(seeded.id)


def shoot_failures(app: Any, window: Any, home: Path, out: Path) -> None:
    """The welcome page, then a model file that does not load."""
    from chatdesk.services.engine_session import ModelState

    save(app, window, out, "01-welcome.png")
    broken = home / "broken-download.gguf"
    broken.write_bytes(b"GGUF" + os.urandom(200))
    window.load_model(str(broken))
    wait_until(app, lambda: window.services.engine.status.state is not ModelState.LOADING)
    save(app, window, out, "02-model-load-error.png")


def shoot_chat(app: Any, window: Any, model: Path, out: Path) -> str:
    """A live reply under a seeded exchange with a code block; returns the conversation id."""
    from chatdesk.services.engine_session import ModelState

    cid = seed_conversation(window.services.store, model)
    window.refresh_sidebar()
    window.load_model(str(model))
    wait_until(app, lambda: window.services.engine.status.state is not ModelState.LOADING)
    window.open_conversation(cid)
    window.settings_panel.conversation.boxes["max_tokens"].setValue(60)
    window.settings_panel.conversation.boxes["seed"].setValue(SEED)  # the same picture each run
    window.composer.text.setPlainText("Thanks! Can you also show how to write it back?")
    window.composer.send_button.click()
    wait_until(app, lambda: not window.turns.streaming)
    save(app, window, out, "03-chat-code-block.png")
    return cid


def shoot_panels(app: Any, window: Any, cid: str, out: Path) -> None:
    """Settings tabs, the prompt viewer, then the dark theme."""
    from chatdesk.ui.prompt_viewer import PromptViewer

    window.toggle_settings()
    save(app, window, out, "04-settings.png")
    window.settings_panel.setCurrentWidget(window.settings_panel.model)
    save(app, window, out, "05-model-settings.png")
    window.toggle_settings()
    viewer = PromptViewer(window)
    window.background.when_done(
        window.chat.render_prompt(cid), viewer.show_prompt, viewer.show_error
    )
    viewer.show()
    wait_until(app, lambda: "tokens" in viewer.summary.text())
    save(app, viewer, out, "07-show-prompt.png")
    viewer.close()
    theme = window.settings_panel.appearance.theme
    theme.setCurrentIndex(theme.findData("dark"))
    save(app, window, out, "06-chat-dark.png")
    theme.setCurrentIndex(0)


def shoot_starter_offer(app: Any, window: Any, out: Path) -> None:
    """The first run on a machine without models: the welcome page offers the starter."""
    window.resize(1180, 760)
    wait_until(app, window.welcome.starter_button.isVisible)
    print_x_title(window)
    save(app, window, out, "11-first-run-starter-offer.png")


def print_x_title(window: Any) -> None:
    """The title the X server has for the window (what a window manager shows)."""
    import subprocess

    done = subprocess.run(
        ["xdotool", "getwindowname", str(int(window.winId()))],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    print(f"X window title: {done.stdout.strip() or done.stderr.strip()}")


def long_chat(store: Any, count: int = 500) -> tuple[str, str]:
    """An imported-looking 500-message chat; (its id, the id of the one message with the word
    "zanzibar", about the middle)."""
    chat = store.create_conversation(title="Trip planning (500 messages)")
    target = ""
    for index in range(count):
        role = "user" if index % 2 == 0 else "assistant"
        text = f"Message {index}: " + "notes about trains, hotels and museums. " * (1 + index % 4)
        if index == 250:
            text = "Message 250: the ferry to **Zanzibar** leaves at 07:30 from pier 3."
        message = store.append_message(chat.id, role, text)
        target = message.id if index == 250 else target
    return str(chat.id), target


def shoot_search_hit(app: Any, window: Any, out: Path) -> None:
    """Ctrl+F a word found once in message 250 of 500, click the hit."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    _chat, target = long_chat(window.services.store)
    other = window.services.store.create_conversation(title="Another chat")
    window.services.store.append_message(other.id, "user", "Something else entirely.")
    window.refresh_sidebar()
    window.open_conversation(other.id)
    window.sidebar.search.setText("zanzibar")
    hits = window.sidebar.list
    wait_until(app, lambda: any(hits.item(r).data(Qt.ItemDataRole.UserRole + 1) == target
                                for r in range(hits.count())))  # fmt: skip
    item = next(hits.item(r) for r in range(hits.count())
                if hits.item(r).data(Qt.ItemDataRole.UserRole + 1) == target)  # fmt: skip
    started = time.perf_counter()
    QTest.mouseClick(
        hits.viewport(), Qt.MouseButton.LeftButton, pos=hits.visualItemRect(item).center()
    )
    wait_until(app, lambda: window.chat_view.widget_for(target) is not None)
    print(f"search hit opened in {1000 * (time.perf_counter() - started):.0f} ms")
    save(app, window, out, "12-search-hit-500-messages.png")
    window.sidebar.search.clear()


def two_versions(app: Any, window: Any, model: Path) -> None:
    """Ask a question, regenerate: the reply shows < 2/2 > and its context meter."""
    from chatdesk.services.engine_session import ModelState

    window.load_model(str(model))
    wait_until(app, lambda: window.services.engine.status.state is not ModelState.LOADING)
    window.new_chat()
    boxes = window.settings_panel.conversation.boxes
    boxes["temperature"].setValue(0.7)
    boxes["max_tokens"].setValue(120)
    boxes["seed"].setValue(SEED)
    window.composer.text.setPlainText("What is the capital of France? Answer with a short table.")
    window.composer.send_button.click()
    wait_until(app, lambda: not window.turns.streaming)
    reply = window.chat_view.last_reply()
    window.chat_view.widget_for(reply.id).regenerate_button.click()
    wait_until(app, lambda: not window.turns.streaming)


def shoot_settings_sizes(app: Any, window: Any, model: Path, out: Path) -> None:
    """The Settings panel open at the default size and at 800x600."""
    two_versions(app, window, model)
    if not window.dock.isVisible():
        window.toggle_settings()
    for (width, height), name in (
        ((1180, 760), "13-settings-open-1180x760.png"),
        ((800, 600), "14-settings-open-800x600.png"),
    ):
        window.resize(width, height)
        settle(app, 0.6)
        window.chat_view.scroll_to_bottom()
        save(app, window, out, name)


def new_user(app: Any, window: Any, home: Path, model: Path | None, out: Path) -> None:
    """The pictures of issue 11 (see the module docstring)."""
    shoot_starter_offer(app, window, out)
    shoot_search_hit(app, window, out)
    shoot_settings_sizes(app, window, model or test_model(home), out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("out", type=Path, help="folder for the PNG files")
    parser.add_argument("--model", type=Path, help="a real .gguf model (default: a test model)")
    sets = ("all", "new-user", "docs", "sizes")
    parser.add_argument("--set", choices=sets, default="all", help="which pictures")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="chatdesk-shots-"))
    os.environ["CHATDESK_HOME"] = str(home)

    from chatdesk.services.app_services import AppServices
    from chatdesk.ui.app import create_application, create_window

    app = create_application(["chatdesk"])
    services = AppServices.create()
    window = create_window(app, services)
    window.resize(1280, 800)
    window.show()
    window.composer.focus()
    try:
        if args.set == "docs":
            from doc_screenshots import DocShooter

            if args.model is None:
                parser.error("--set docs needs --model (the real starter model)")
            DocShooter(sys.modules[__name__], app, window, home, args.model, args.out).run()
        elif args.set == "sizes":
            from size_screenshots import shoot_sizes

            shoot_sizes(sys.modules[__name__], app, window, args.model, args.out)
        elif args.set == "new-user":
            new_user(app, window, home, args.model, args.out)
        else:
            shoot_failures(app, window, home, args.out)
            cid = shoot_chat(app, window, args.model or test_model(home), args.out)
            shoot_panels(app, window, cid, args.out)
    finally:
        window.close()
        services.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
