"""How messages look and how their actions are reached, in the real window: user and reply
told apart, the model's display name, icon actions shown on hover and on keyboard focus
(and pressed by their key), one quiet line of figures, code blocks that scroll sideways,
collapsed sections, and a conversation column capped and centred on a wide window."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from chatdesk import paths
from chatdesk.ui import design
from chatdesk.ui.main_window import MainWindow
from chatdesk.ui.message_widget import MessageWidget
from chatdesk.ui.theme import current
from tests.support.scripted_engine import ScriptedEngine

MakeWindow = Callable[..., MainWindow]
CODE = "x = [" + ", ".join(str(n) for n in range(150)) + "]"


def open_chat(window: MainWindow) -> list[MessageWidget]:
    """Two turns; the replies come from a downloaded model (``models/OWNER/REPO/file``)."""
    store = window.services.store
    model = str(paths.models_dir() / "bartowski" / "Qwen2.5-0.5B-Instruct-GGUF" / "q4.gguf")
    chat = store.create_conversation("Look")
    store.append_message(chat.id, "user", "Hello?")
    first = store.append_message(chat.id, "assistant", "Hi there.", model=model)
    store.update_message(first.id, stats={"prompt_tokens": 20, "completion_tokens": 3})
    store.set_reply_metadata(first.id, n_ctx=4096)
    store.append_message(chat.id, "user", "Some code, please.")
    reply = f"Here:\n\n```python\n{CODE}\n```\n\nDone."
    store.append_message(chat.id, "assistant", reply, model=model)
    window.open_conversation(chat.id)
    return window.chat_view.widgets


def test_user_and_reply_are_told_apart_and_the_model_goes_by_its_name(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    window = make_window(ScriptedEngine)
    window.resize(1180, 760)
    user, reply, *_ = open_chat(window)
    qtbot.waitUntil(reply.isVisible)
    image = window.grab().toImage()

    def pixel(widget: QWidget, x: int) -> str:
        return image.pixelColor(widget.mapTo(window, QPoint(x, widget.height() // 2))).name()

    bubble, beside = pixel(user, user.width() - 20), pixel(user, 20)
    page = pixel(reply, reply.width() - 20)
    assert bubble == current().colours.user  # the user's message is a tinted bubble
    assert beside == page == current().colours.surface  # set in from the left
    role = reply.findChild(QWidget, "roleLabel")
    assert role is not None
    assert role.property("text") == "Qwen2.5-0.5B-Instruct-GGUF"  # not "q4.gguf"


def test_actions_are_icons_shown_on_hover_and_on_keyboard_focus(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    window = make_window(ScriptedEngine)
    _user, first, _question, last = open_chat(window)
    qtbot.waitUntil(last.isVisible)
    assert last.action_row.isVisible()  # the newest message shows its actions
    assert not first.action_row.isVisible()  # the others wait for the mouse or focus
    for button in (first.copy_button, first.regenerate_button, first.tokens_button):
        assert (
            button.text() == "" or button.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonIconOnly
        )
        assert not button.icon().isNull()
        assert button.accessibleName()
        assert button.toolTip().startswith(button.accessibleName())
    assert first.copy_button.toolTip() == "Copy message (C)"
    qtbot.mouseMove(first.body, QPoint(10, 5))
    qtbot.waitUntil(first.action_row.isVisible)
    qtbot.mouseMove(window.composer, QPoint(5, 5))
    qtbot.waitUntil(lambda: not first.action_row.isVisible())
    first.body.setFocus(Qt.FocusReason.TabFocusReason)  # keyboard focus enters the message
    qtbot.waitUntil(first.action_row.isVisible)
    qtbot.keyClick(first.body, Qt.Key.Key_C)  # its key presses Copy
    assert QGuiApplication.clipboard().text() == "Hi there."
    qtbot.keyClick(first.body, Qt.Key.Key_Tab)  # Tab goes on to the actions
    qtbot.waitUntil(first.copy_button.hasFocus)
    assert first.action_row.isVisible()


def test_figures_share_one_quiet_line_and_code_scrolls_sideways(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    window = make_window(ScriptedEngine)
    window.resize(1000, 700)
    _user, first, _question, last = open_chat(window)
    qtbot.waitUntil(last.isVisible)
    assert first.status_label.text().endswith("3 tokens · context 23 / 4,096")
    assert first.context_meter.isVisible()
    assert abs(first.status_label.y() - first.action_row.y()) < first.action_row.height()
    text = last.body.toPlainText()
    assert "python · Copy code" in text  # the code block's header
    assert CODE in text  # one line, not wrapped
    qtbot.waitUntil(lambda: last.body.horizontalScrollBar().maximum() > 0)


def test_the_column_is_capped_and_centred_on_a_wide_window(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    window = make_window(ScriptedEngine)
    window.resize(1900, 1000)
    widgets = open_chat(window)
    qtbot.waitUntil(lambda: window.width() >= 1800)
    view = window.chat_view
    qtbot.waitUntil(lambda: view.column.width() <= design.column_width(current().font_pt))
    left = view.column.x()
    right = view.widget().width() - (left + view.column.width())
    assert abs(left - right) <= 2
    for widget in widgets:
        assert widget.width() <= view.column.width()


def test_no_widget_in_the_conversation_carries_its_own_style_sheet(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    window = make_window(ScriptedEngine)
    open_chat(window)
    window.chat_view.show_message(window.chat_view.widgets[1].message.id)  # highlighted
    styled = [w for w in window.chat_view.findChildren(QWidget) if w.styleSheet()]
    assert not styled
    assert QApplication.instance() is not None


def test_branch_copies_the_conversation_up_to_a_message_into_a_new_one(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    window = make_window(ScriptedEngine)
    _user, first, _question, _last = open_chat(window)
    source = window.conversation_id
    assert first.branch_button.toolTip() == "Branch into a new conversation (B)"
    first.branch_button.click()
    assert window.conversation_id != source  # the branch is open
    shown = [(w.message.role, w.message.content) for w in window.chat_view.widgets]
    assert shown == [("user", "Hello?"), ("assistant", "Hi there.")]
    assert window.chat_view.widgets[1].message.completion_tokens == 3  # figures came along
    assert window.windowTitle() == "Look (branch)"
    assert source is not None
    assert len(window.services.chat.messages(source)) == 4  # the source is as it was


def test_the_font_size_scales_the_column_and_the_icons(
    qtbot: QtBot, make_window: MakeWindow
) -> None:
    window = make_window(ScriptedEngine)
    open_chat(window)
    size = window.settings_panel.appearance.font_size
    size.setValue(2 * design.DEFAULT_FONT_SIZE)
    try:
        assert window.chat_view.column.maximumWidth() == 2 * design.COLUMN_MAX
        assert window.chat_view.widgets[0].copy_button.iconSize().width() == 2 * design.ICON
        assert window.app.font().pointSize() == 2 * design.DEFAULT_FONT_SIZE
    finally:
        size.setValue(design.DEFAULT_FONT_SIZE)


def test_message_actions_take_the_new_theme_colours(qtbot: QtBot, make_window: MakeWindow) -> None:
    window = make_window(ScriptedEngine)
    first = open_chat(window)[1]
    box = window.settings_panel.appearance.theme

    def drawn() -> set[str]:
        image = first.copy_button.icon().pixmap(24, 24).toImage()
        return {
            image.pixelColor(x, y).name()
            for x in range(24)
            for y in range(24)
            if image.pixelColor(x, y).alpha() == 255
        }

    try:
        box.setCurrentIndex(box.findData("light"))
        light = drawn()
        box.setCurrentIndex(box.findData("dark"))
        assert drawn() != light  # the icon is drawn again in the dark palette's colour
    finally:
        box.setCurrentIndex(box.findData("light"))
