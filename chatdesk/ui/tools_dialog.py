"""Tools...: each tool's switch and policy, the MCP servers, and the audit log.

Listing MCP servers starts them (each under a time limit), so the lists are filled from a
worker thread (``Background``: the answer comes back through the bridge, nothing polls)
and the dialog stays responsive; a server that fails shows its one-line
error. The audit log is plain text throughout: arguments and outputs come from models and
tools and are never rendered. "Offer these tools to the model in chats" goes through
``offer`` (the window passes ``ToolActions.offer``, so the composer's Tools button follows).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from chatdesk.services.tools import (
    MAX_STEPS_RANGE,
    POLICIES,
    ServerStatus,
    ToolAuditEntry,
    ToolEntry,
    ToolsService,
)
from chatdesk.ui.bridge import Background, EventBridge

LOG_ROWS = 500
POLICY_LABELS = {"ask": "Ask first", "allow": "Always allow", "deny": "Never"}


def _item(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    return item


class ToolsDialog(QDialog):
    """The tools settings and log of one ToolsService."""

    def __init__(
        self,
        service: ToolsService,
        parent: QWidget | None = None,
        background: Background | None = None,
        offer: Callable[[bool], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.background = background or Background(EventBridge(self))
        self._listings = 0  # only the newest listing is shown
        self.setWindowTitle("Tools")
        self.resize(820, 560)
        column = QVBoxLayout(self)
        self.tabs = QTabWidget(self)
        self.tools_table = self._table(["Tool", "From", "On", "Policy"], stretch=0)
        self.servers_table = self._table(["MCP server", "Transport", "On", "State"], stretch=3)
        self.log_table = self._table(["Time (UTC)", "Tool", "Approval", "ms", "Result"])
        self.log_detail = QPlainTextEdit(self)
        self.log_detail.setReadOnly(True)
        self.log_detail.setAccessibleName("Call details")
        self.log_detail.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.status = QLabel("Listing tools and MCP servers…", self)
        self.max_steps = QSpinBox(self)
        self.max_steps.setRange(*MAX_STEPS_RANGE)
        self.max_steps.setValue(service.max_steps())
        self.max_steps.setAccessibleName("Most steps per reply")
        self.max_steps.valueChanged.connect(service.set_max_steps)
        self.in_chat = QCheckBox("Offer these tools to the model in chats", self)
        self.in_chat.setChecked(service.offered_in_chat())
        self.in_chat.toggled.connect(offer or service.set_offered_in_chat)
        steps = QWidget(self)
        row = QHBoxLayout(steps)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.in_chat)
        row.addWidget(QLabel("Most tool steps per reply:", steps))
        row.addWidget(self.max_steps)
        row.addStretch(1)
        self.tabs.addTab(self._page(self.status, steps, self.tools_table), "Tools")
        config = QLabel(f"Configured in {service.config_path} (mcpServers format).", self)
        config.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tabs.addTab(self._page(config, self.servers_table), "MCP servers")
        self.tabs.addTab(self._page(self.log_table, self.log_detail), "Audit log")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        column.addWidget(self.tabs, 1)
        column.addWidget(buttons)
        self.log_table.currentCellChanged.connect(lambda row, *_: self._show_entry(row))
        self._entries: list[ToolAuditEntry] = []
        self._closed = False
        self.refresh()

    def _table(self, headers: list[str], stretch: int | None = None) -> QTableWidget:
        """A table whose last column takes the room left; or, given ``stretch`` (short
        tables), columns as wide as their contents (names never cut) but that one."""
        table = QTableWidget(0, len(headers), self)
        table.setHorizontalHeaderLabels(headers)
        header = table.horizontalHeader()
        header.setStretchLastSection(stretch is None)  # the audit log: long, so not measured
        if stretch is not None:
            header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
            header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
        table.verticalHeader().setVisible(False)
        table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        return table

    def _page(self, *widgets: QWidget) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        for widget in widgets:
            layout.addWidget(widget)
        return page

    # --- filling -----------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-list tools and servers (in the background) and reload the log."""
        self._listings += 1
        serial = self._listings
        self.background.run(
            self._list,
            lambda listing: self._listed(serial, listing),
            lambda error: self._listed(serial, None, error),
        )
        self.fill_log()

    def _list(self) -> tuple[list[ToolEntry], list[ServerStatus]]:
        servers = self.service.servers(refresh=True)
        return self.service.tools(), servers

    def _listed(
        self,
        serial: int,
        listing: tuple[list[ToolEntry], list[ServerStatus]] | None,
        error: BaseException | None = None,
    ) -> None:
        if self._closed or serial != self._listings:
            return  # closed, or a newer listing is on its way
        if listing is None:
            self.status.setText(f"Could not list the tools: {error}")
            return
        tools, servers = listing
        self.fill_tools(tools)
        self.fill_servers(servers)
        problem = self.service.config_error()
        self.status.setText(problem or f"{len(tools)} tools")

    def fill_tools(self, entries: list[ToolEntry]) -> None:
        self.tools_table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            self.tools_table.setItem(row, 0, _item(entry.name))
            self.tools_table.setItem(row, 1, _item(entry.spec.source))
            switch = QCheckBox(self.tools_table)
            switch.setChecked(entry.enabled)
            switch.toggled.connect(lambda on, n=entry.name: self.service.set_enabled(n, on))
            self.tools_table.setCellWidget(row, 2, switch)
            policy = QComboBox(self.tools_table)
            for value in POLICIES:
                policy.addItem(POLICY_LABELS[value], value)
            policy.setCurrentIndex(POLICIES.index(entry.policy))
            policy.currentIndexChanged.connect(
                lambda i, n=entry.name: self.service.set_policy(n, POLICIES[i])
            )
            self.tools_table.setCellWidget(row, 3, policy)

    def fill_servers(self, servers: list[ServerStatus]) -> None:
        self.servers_table.setRowCount(len(servers))
        for row, server in enumerate(servers):
            self.servers_table.setItem(row, 0, _item(server.name))
            self.servers_table.setItem(row, 1, _item(server.transport))
            switch = QCheckBox(self.servers_table)
            switch.setChecked(server.enabled)
            switch.toggled.connect(lambda on, n=server.name: self.service.set_server_enabled(n, on))
            self.servers_table.setCellWidget(row, 2, switch)
            state = server.error or (f"{len(server.tools)} tools" if server.enabled else "off")
            self.servers_table.setItem(row, 3, _item(state))

    def fill_log(self) -> None:
        self._entries = self.service.audit_log(LOG_ROWS)
        self.log_table.setRowCount(len(self._entries))
        for row, entry in enumerate(self._entries):
            took = "" if entry.duration_ms is None else f"{entry.duration_ms:.0f}"
            outcome = (entry.error or entry.result or "").strip().splitlines()
            cells = [entry.started_at[:19].replace("T", " "), entry.tool, entry.approval, took,
                     outcome[0][:120] if outcome else ""]  # fmt: skip
            for column, text in enumerate(cells):
                self.log_table.setItem(row, column, _item(text))

    def _show_entry(self, row: int) -> None:
        if not 0 <= row < len(self._entries):
            return
        entry = self._entries[row]
        self.log_detail.setPlainText(
            f"{entry.tool} ({entry.source}) at {entry.started_at}\n"
            f"conversation: {entry.conversation_id or '-'}\napproval: {entry.approval}\n\n"
            f"arguments:\n{entry.arguments}\n\n"
            f"{'error' if entry.error else 'result'}:\n{entry.error or entry.result or ''}"
        )

    def done(self, result: int) -> None:
        self._closed = True  # a listing still running is dropped when it ends
        super().done(result)
