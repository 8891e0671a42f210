"""The first-run page: how to get a model (Models dialog, Open GGUF file, drag and drop)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

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


class WelcomePage(QWidget):
    """Shown when no model is loaded yet."""

    open_models = Signal()
    open_file = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        self.setAutoFillBackground(True)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        text = QLabel(WELCOME_TEXT, self)
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        text.setMaximumWidth(620)
        text.setAccessibleName("Welcome")
        row = QHBoxLayout()
        self.models_button = QPushButton("Browse models...", self)
        self.models_button.setAccessibleName("Browse models")
        self.models_button.clicked.connect(self.open_models)
        self.file_button = QPushButton("Open GGUF file...", self)
        self.file_button.setAccessibleName("Open GGUF file")
        self.file_button.clicked.connect(self.open_file)
        row.addStretch(1)
        row.addWidget(self.models_button)
        row.addWidget(self.file_button)
        row.addStretch(1)
        centre = QHBoxLayout()
        centre.addStretch(1)
        centre.addWidget(text)
        centre.addStretch(1)
        outer.addLayout(centre)
        outer.addLayout(row)
        outer.addStretch(2)
