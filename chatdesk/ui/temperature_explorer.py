"""The temperature explorer: one token's distribution, reshaped live by sampler sliders.

For the selected token the chart shows its stored top alternatives as the sampler would
see them with the slider settings (temperature, top-k, top-p, min-p), computed by
``chatdesk.probabilities.reshape`` on the stored top N and renormalised over them; a
note says whether that is exact or how much probability lies beyond the stored tokens.
The model's own probabilities (temperature 1, nothing cut) are shown for comparison.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QSlider, QVBoxLayout, QWidget

from chatdesk.engine.types import TokenChoice
from chatdesk.probabilities.bands import percent
from chatdesk.probabilities.reshape import Reshaped, Shaping, reshape
from chatdesk.ui.probability_chart import ProbabilityChart, visible_token

# slider name -> (maximum slider value, scale: setting = slider value / scale); a reply's
# own setting past the maximum (top-k 200, say) widens its slider to reach it
SLIDERS = {"temperature": (200, 100), "top_k": (100, 1), "top_p": (100, 100), "min_p": (100, 100)}
LABELS = {"temperature": "Temperature", "top_k": "Top-k", "top_p": "Top-p", "min_p": "Min-p"}


class TemperatureExplorer(QWidget):
    """Sliders for the sampler settings and the reshaped distribution of one token."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.choice: TokenChoice | None = None
        self.result: Reshaped | None = None
        self.title = QLabel("Select a token to explore its distribution.", self)
        self.title.setWordWrap(True)
        self.sliders: dict[str, QSlider] = {}
        self.values: dict[str, QLabel] = {}
        self.chart = ProbabilityChart(self)
        self.model_chart = ProbabilityChart(self)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        self._build()
        self.set_shaping(Shaping())

    def _build(self) -> None:
        form = QFormLayout()
        for name, (maximum, _scale) in SLIDERS.items():
            slider = QSlider(Qt.Orientation.Horizontal, self)
            slider.setRange(0, maximum)
            slider.setAccessibleName(LABELS[name])
            slider.valueChanged.connect(lambda _v: self._update())
            value = QLabel(self)
            row = QVBoxLayout()
            row.addWidget(slider)
            row.addWidget(value)
            form.addRow(LABELS[name], row)
            self.sliders[name], self.values[name] = slider, value
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(form)
        layout.addWidget(QLabel("As the sampler would see it:", self))
        layout.addWidget(self.chart)
        layout.addWidget(QLabel("As the model computed it:", self))
        layout.addWidget(self.model_chart)
        layout.addWidget(self.note)
        layout.addStretch(1)

    def shaping(self) -> Shaping:
        """The settings the sliders show."""
        value = {name: self.sliders[name].value() / scale for name, (_m, scale) in SLIDERS.items()}
        return Shaping(value["temperature"], int(value["top_k"]), value["top_p"], value["min_p"])

    def set_shaping(self, shaping: Shaping) -> None:
        """Move the sliders to these settings (for example the conversation's own)."""
        given = {
            "temperature": shaping.temperature,
            "top_k": shaping.top_k,
            "top_p": shaping.top_p,
            "min_p": shaping.min_p,
        }
        for name, (maximum, scale) in SLIDERS.items():
            slider, value = self.sliders[name], round(given[name] * scale)
            slider.blockSignals(True)
            slider.setMaximum(max(maximum, value))
            slider.setValue(value)
            slider.blockSignals(False)
        self._update()

    def set_choice(self, choice: TokenChoice | None) -> None:
        """Explore this token's distribution (None: nothing selected)."""
        self.choice = choice
        self._update()

    def _update(self) -> None:
        shaping = self.shaping()
        self._label_values(shaping)
        choice = self.choice
        if choice is None or not choice.top:
            self.result = None
            self.chart.set_rows([])
            self.model_chart.set_rows([])
            self.note.setText("")
            return
        self.result = reshape(choice.top, shaping)
        chosen = next((n for n, a in enumerate(choice.top) if a.token == choice.token), None)
        texts = [a.text for a in choice.top]
        self.chart.set_rows(list(zip(texts, self.result.probabilities, strict=True)), chosen)
        self.model_chart.set_rows([(a.text, a.probability) for a in choice.top], chosen)
        self.title.setText(f"Token “{visible_token(choice.text)}”: {len(texts)} alternatives")
        self.note.setText(self._note(self.result, len(texts)))

    def _label_values(self, shaping: Shaping) -> None:
        self.values["temperature"].setText(
            f"{shaping.temperature:.2f}" + (" (greedy)" if shaping.temperature <= 0 else "")
        )
        self.values["top_k"].setText(str(shaping.top_k) if shaping.top_k else "off")
        self.values["top_p"].setText(f"{shaping.top_p:.2f}" if shaping.top_p < 1 else "off")
        self.values["min_p"].setText(f"{shaping.min_p:.2f}" if shaping.min_p > 0 else "off")

    @staticmethod
    def _note(result: Reshaped, count: int) -> str:
        if result.exact:
            return f"Exact: these settings cut everything beyond the top {count} tokens."
        return (
            f"Approximate: {percent(result.outside)} of the model's probability lies beyond "
            f"the {count} stored tokens; with these settings some of it would survive, so "
            "the shares above are renormalised over the stored tokens only."
        )
