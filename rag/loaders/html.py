"""HTML: visible text as headings, paragraphs, list items, tables and code, in reading order."""

from __future__ import annotations

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import Comment, Doctype, ProcessingInstruction

from rag.loaders.text import decode_text
from rag.loaders.types import Block

_SKIPPED = {"script", "style", "noscript", "template", "head", "svg", "iframe", "object", "button", "form"}
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_PARAGRAPHS = {"p", "blockquote", "figcaption", "dt", "dd", "address", "caption", "summary"}
_CONTAINERS = {"html", "body", "div", "section", "article", "main", "header", "footer", "nav", "aside",
               "ul", "ol", "dl", "figure", "details", "center", "fieldset"}  # fmt: skip


def load_html(data: bytes) -> list[Block]:
    """Parse with lxml through BeautifulSoup; scripts, styles and comments are dropped."""
    soup = BeautifulSoup(decode_text(data), "lxml")
    blocks: list[Block] = []
    _walk(soup, blocks, [])
    _flush(blocks, [])
    return blocks


def _walk(node: Tag, blocks: list[Block], inline: list[str]) -> None:
    for child in node.children:
        if isinstance(child, Comment | Doctype | ProcessingInstruction):
            continue
        if isinstance(child, NavigableString):
            inline.append(str(child))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name.lower()
        if name in _SKIPPED:
            continue
        if name == "br":
            inline.append("\n")
        elif name in _HEADINGS:
            _flush(blocks, inline)
            _add(blocks, "heading", _text(child), level=_HEADINGS[name])
        elif name in _PARAGRAPHS:
            _flush(blocks, inline)
            _add(blocks, "paragraph", _text(child))
        elif name == "li":
            _flush(blocks, inline)
            _add(blocks, "list_item", _text(child))
        elif name == "pre":
            _flush(blocks, inline)
            _add(blocks, "code", child.get_text().strip("\n"))
        elif name == "table":
            _flush(blocks, inline)
            _add(blocks, "table", _table_text(child))
        elif name in _CONTAINERS:
            _flush(blocks, inline)
            _walk(child, blocks, inline)
            _flush(blocks, inline)
        else:  # inline element (a, span, em, code, ...): its text joins the running paragraph
            _walk(child, blocks, inline)


def _text(tag: Tag) -> str:
    return " ".join(tag.get_text(" ").split())


def _table_text(table: Tag) -> str:
    rows = []
    for tr in table.find_all("tr"):
        cells = [" ".join(c.get_text(" ").split()) for c in tr.find_all(["th", "td"])]
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def _flush(blocks: list[Block], inline: list[str]) -> None:
    if inline:
        _add(blocks, "paragraph", " ".join("".join(inline).split()))
        inline.clear()


def _add(blocks: list[Block], kind: str, text: str, *, level: int = 0) -> None:
    if text.strip():
        # Code keeps its leading indentation; everything else is trimmed.
        cleaned = text.strip("\n").rstrip() if kind == "code" else text.strip()
        blocks.append(Block(kind, cleaned, level=level))  # type: ignore[arg-type]
