"""ChatDesk's design system in one place: spacing, type, radii, column width, colours, and
the one stylesheet generated from them.

Widgets never carry their own style strings. They get their looks in three ways:

- an *object name* that a rule below names (``#message-user``, ``#statusLine`` ...), for the
  few widgets the window has one of;
- a *look*, a dynamic property that any number of widgets share: ``set_look(label, "muted")``
  (see ``LOOKS``); set it before the widget is first shown (or call ``repolish``);
- the *palette*: the application palette is built from the same colours
  (``chatdesk.ui.theme``), so unstyled widgets and custom painting match.

Sizes follow the font size setting: ``scale(font_pt)`` is the ratio to the default size,
and spacing, radii and the conversation column grow with it (``space("md", font_pt)``).
The conversation column is capped at ``COLUMN_MAX`` px (scaled) and centred on wide windows.

Colours come in two palettes, ``LIGHT`` and ``DARK`` (chosen by the OS colour scheme unless
the user picks one). ``text_pairs`` lists every foreground/background pair the window draws
with the contrast WCAG AA asks of it (4.5:1 for body text, 3:1 for large text and for the
boundaries of controls); a test checks each from these values (``contrast``).

This module is Qt-free (cheap to test; ``rendering`` takes its code colours from here);
``chatdesk.ui.theme`` applies it to the application.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

DEFAULT_FONT_SIZE = 11  # pt, the body size everything else is measured from

SPACE = {"xxs": 2, "xs": 4, "sm": 8, "md": 12, "lg": 16, "xl": 24, "xxl": 32}  # px
RADIUS = {"sm": 4, "md": 8, "lg": 12}  # px
TYPE = {"small": 0.85, "body": 1.0, "subtitle": 1.15, "title": 1.35, "display": 1.7}  # x body
COLUMN_MAX = 760  # px: the conversation column's width cap (readable line length)
ICON = 16  # px: an icon at the default font size
FOCUS_WIDTH = 2  # px: the focus ring around a focused control

BODY_TEXT, LARGE_TEXT, NON_TEXT = 4.5, 3.0, 3.0  # WCAG AA contrast minima

LOOKS = {  # set_look(widget, name): what each look is for
    "muted": "secondary text: hints, captions, figures",
    "small": "small secondary text",
    "subtitle": "a heading inside a panel (bold, a step larger)",
    "title": "a panel's or the empty state's title",
    "display": "the one large title of the empty state",
    "error": "an error message",
    "card": "a raised surface with a border and rounded corners",
    "panel": "a side panel's background (sidebar, settings)",
    "bar": "a top bar or tool bar background",
    "chip": "a clickable suggestion (an example prompt): rounded, bordered",
    "primary": "the main button of a view (accent colour)",
    "icon": "an icon-only tool button (hover and focus background)",
    "section": "a collapsible section's header toggle (text beside a caret)",
    "code": "monospace text on the code background",
}


@dataclass(frozen=True)
class Colours:
    """One theme's colours (hex strings). ``surface`` is the conversation's background."""

    window: str  # panels, bars, the window behind everything
    surface: str  # the conversation column, text fields
    raised: str  # cards, buttons, menus, tooltips
    text: str
    muted: str  # secondary text, also on user bubbles and code blocks
    accent: str  # primary buttons, selection, progress
    on_accent: str  # text on the accent colour
    link: str
    border: str  # separators, decorative outlines (no contrast needed)
    control: str  # boundaries of fields and buttons (3:1 against their background)
    focus: str  # the focus ring (3:1 against every background)
    hover: str  # the background of a hovered icon button
    user: str  # the user's message bubble
    code: str  # code block background
    error: str
    notice: str  # notice and context-note background
    pygments: str  # the Pygments style of highlighted code


LIGHT = Colours(
    window="#f3f4f6",
    surface="#ffffff",
    raised="#ffffff",
    text="#1f2328",
    muted="#596069",
    accent="#2456c8",
    on_accent="#ffffff",
    link="#1f4fbf",
    border="#dfe2e6",
    control="#7b828c",
    focus="#2456c8",
    hover="#e8eaee",
    user="#eaf0fc",
    code="#f4f5f7",
    error="#b42318",
    notice="#fff4d6",
    pygments="xcode",
)

DARK = Colours(
    window="#1d1f23",
    surface="#16171a",
    raised="#2a2c31",
    text="#e6e7ea",
    muted="#a5acb7",
    accent="#3d6fd6",
    on_accent="#ffffff",
    link="#8ab4ff",
    border="#33363c",
    control="#767c87",
    focus="#8ab4ff",
    hover="#33363c",
    user="#263142",
    code="#1f2228",
    error="#ff8a80",
    notice="#3a3222",
    pygments="github-dark",
)


def colours(dark: bool) -> Colours:
    """The palette of the light or the dark theme."""
    return DARK if dark else LIGHT


def scale(font_pt: int) -> float:
    """How much larger than the default the chosen font size is (sizes grow with it)."""
    return max(font_pt, 1) / DEFAULT_FONT_SIZE


def space(step: str, font_pt: int = DEFAULT_FONT_SIZE) -> int:
    """A spacing step in px (``SPACE``), scaled to the font size."""
    return round(SPACE[step] * scale(font_pt))


def radius(step: str, font_pt: int = DEFAULT_FONT_SIZE) -> int:
    """A corner radius in px (``RADIUS``), scaled to the font size."""
    return round(RADIUS[step] * scale(font_pt))


def type_pt(step: str, font_pt: int = DEFAULT_FONT_SIZE) -> int:
    """A type-scale step in points (``TYPE``) for a body size of ``font_pt``."""
    return max(1, round(TYPE[step] * font_pt))


def column_width(font_pt: int = DEFAULT_FONT_SIZE) -> int:
    """The conversation column's maximum width in px at this font size."""
    return round(COLUMN_MAX * scale(font_pt))


# -- contrast (WCAG 2.x) ----------------------------------------------------------------


def luminance(colour: str) -> float:
    """Relative luminance of a ``#rrggbb`` colour, as WCAG defines it."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two colours, from 1 to 21."""
    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def text_pairs(c: Colours) -> list[tuple[str, str, str, float]]:
    """Every (what, foreground, background, minimum ratio) the window draws with ``c``."""
    body = [
        (f"{fg_name} on {bg_name}", fg, bg, BODY_TEXT)
        for fg_name, fg in (("text", c.text), ("muted", c.muted))
        for bg_name, bg in (
            ("window", c.window),
            ("surface", c.surface),
            ("raised", c.raised),
            ("user bubble", c.user),
            ("code", c.code),
            ("hover", c.hover),
        )
    ]
    return [
        *body,
        ("link on surface", c.link, c.surface, BODY_TEXT),
        ("link on code", c.link, c.code, BODY_TEXT),
        ("link on user bubble", c.link, c.user, BODY_TEXT),
        ("on-accent on accent", c.on_accent, c.accent, BODY_TEXT),
        ("error on surface", c.error, c.surface, BODY_TEXT),
        ("error on window", c.error, c.window, BODY_TEXT),
        ("text on notice", c.text, c.notice, BODY_TEXT),
        ("control boundary on surface", c.control, c.surface, NON_TEXT),
        ("control boundary on window", c.control, c.window, NON_TEXT),
        *[(f"focus ring on {n}", c.focus, bg, NON_TEXT) for n, bg in _backgrounds(c)],
    ]


def _backgrounds(c: Colours) -> list[tuple[str, str]]:
    return [("window", c.window), ("surface", c.surface), ("raised", c.raised), ("user", c.user)]


# -- the stylesheet ---------------------------------------------------------------------

STYLE = """
QToolTip {{ color: {text}; background: {raised}; border: 1px solid {border};
  padding: {xs}px {sm}px; }}
#chatContainer, #welcome {{ background: {surface}; }}
#message-user, #message-assistant, #message-tool, #message-system {{ background: transparent;
  border: {focus_w}px solid transparent; border-radius: {r_lg}px; }}
#message-user {{ background: {user}; margin-left: {user_inset}px; }}
*[highlighted="true"] {{ border-color: {focus}; }}
#roleLabel {{ font-weight: 600; }}
#modelLabel, #statusLine, #emptyHint {{ color: {muted}; }}
#statusLine {{ font-size: {small}pt; }}
#messageBody {{ background: transparent; border: {focus_w}px solid transparent;
  border-radius: {r_sm}px; }}
#messageBody:focus {{ border-color: {focus}; }}
#errorText {{ color: {error}; }}
#contextNote {{ background: {notice}; border-radius: {r_sm}px; padding: {xs}px {sm}px; }}
#noticeBar, #undoBar {{ background: {notice}; border-radius: {r_md}px; }}
#codeHeader {{ color: {muted}; font-size: {small}pt; }}
QToolButton {{ border: {focus_w}px solid transparent; border-radius: {r_sm}px;
  padding: {xxs}px; background: transparent; }}
QToolButton:hover {{ background: {hover}; }}
QToolButton:checked {{ background: {hover}; }}
QToolButton:focus {{ border-color: {focus}; }}
QPushButton {{ border: 1px solid {control}; border-radius: {r_sm}px; background: {raised};
  color: {text}; padding: {xs}px {md}px; }}
QPushButton:hover {{ background: {hover}; }}
QPushButton:focus {{ border: {focus_w}px solid {focus}; padding: {xs_in}px {md_in}px; }}
QPushButton:disabled {{ color: {muted}; border-color: {border}; }}
QLineEdit, QPlainTextEdit, QTextEdit {{ border: 1px solid {control}; border-radius: {r_sm}px;
  background: {surface}; color: {text}; padding: {xxs}px; }}
QPlainTextEdit[look="code"] {{ background: {code}; border-color: {border}; }}
QLineEdit:focus, QPlainTextEdit:focus, QTextEdit:focus {{ border: {focus_w}px solid {focus};
  padding: {xxs_in}px; }}
QProgressBar {{ border: 1px solid {control}; border-radius: {r_sm}px; background: {surface};
  color: {text}; text-align: center; font-size: {small}pt; }}
QProgressBar::chunk {{ background: {accent}; border-radius: {r_sm}px; }}
QScrollBar:vertical {{ width: {scroll}px; background: transparent; margin: 0; }}
QScrollBar:horizontal {{ height: {scroll}px; background: transparent; margin: 0; }}
QScrollBar::handle {{ background: {control}; border-radius: {scroll_r}px; }}
QScrollBar::handle:hover {{ background: {muted}; }}
QScrollBar::handle:vertical {{ min-height: {xl}px; }}
QScrollBar::handle:horizontal {{ min-width: {xl}px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; border: none; }}
QScrollBar::add-page, QScrollBar::sub-page {{ background: none; }}
[look="muted"] {{ color: {muted}; }}
[look="small"] {{ color: {muted}; font-size: {small}pt; }}
[look="subtitle"] {{ font-size: {subtitle}pt; font-weight: 600; }}
[look="title"] {{ font-size: {title}pt; font-weight: 600; }}
[look="display"] {{ font-size: {display}pt; font-weight: 600; }}
[look="error"] {{ color: {error}; }}
[look="card"] {{ background: {raised}; border: 1px solid {border}; border-radius: {r_md}px; }}
[look="panel"] {{ background: {window}; }}
[look="bar"] {{ background: {window}; border-bottom: 1px solid {border}; }}
QPushButton[look="chip"] {{ border-radius: {r_lg}px; padding: {sm}px {md}px;
  text-align: left; }}
QPushButton[look="primary"] {{ background: {accent}; color: {on_accent};
  border: {focus_w}px solid {accent}; }}
QPushButton[look="primary"]:focus {{ border-color: {focus_outer}; }}
QToolButton[look="section"] {{ color: {muted}; font-weight: 600; padding: {xxs}px {xs}px; }}
#chatView:focus {{ border: {focus_w}px solid {focus}; }}
"""


def stylesheet(c: Colours, font_pt: int = DEFAULT_FONT_SIZE) -> str:
    """The application's one stylesheet for the palette ``c`` and the body size ``font_pt``."""
    values: dict[str, object] = dict(asdict(c))
    values.update({step: space(step, font_pt) for step in SPACE})
    values.update({f"r_{step}": radius(step, font_pt) for step in RADIUS})
    values.update({step: type_pt(step, font_pt) for step in TYPE})
    for step in ("xxs", "xs", "md"):  # inside a focus ring: the ring takes one px more
        values[f"{step}_in"] = max(0, space(step, font_pt) - (FOCUS_WIDTH - 1))
    values["focus_w"] = FOCUS_WIDTH
    scroll = space("sm", font_pt) + 2  # slim scroll bars, a handle to grab
    values.update(scroll=scroll, scroll_r=scroll // 2 - 1)
    values["user_inset"] = 3 * space("xl", font_pt)  # the user's bubble sits to the right
    values["focus_outer"] = c.text  # around an accent-coloured button the ring is the text colour
    return STYLE.format(**values)
