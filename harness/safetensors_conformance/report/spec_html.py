"""The spec as one self-contained HTML page, shipped beside the reports so their links work.

A browser shows the Markdown file as plain text and does not jump to its anchors; this page keeps
every requirement's anchor (``spec.html#buffer-no-overlap``) and needs nothing else to display.
"""

from __future__ import annotations

from html import escape

from markdown_it import MarkdownIt

from ..spec import spec_path, spec_version

#: Where report links point by default: the page written next to them.
DEFAULT_SPEC_URL = "spec.html"

_STYLE = """
body { font: 15px/1.55 system-ui, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; color: #1d2430; }
code, pre { font: .9em ui-monospace, monospace; } pre { background: #f5f7fa; padding: .6em; overflow-x: auto; }
table { border-collapse: collapse; } th, td { border: 1px solid #d6dbe3; padding: 2px 7px; }
th { background: #f3f5f8; } a[id]:target + strong { background: #fff2a8; }
a[id] { scroll-margin-top: 1em; }
"""


def render_spec() -> str:
    """``spec/safetensors.md`` as HTML (its requirement anchors are the raw ``<a id>`` tags it holds)."""
    parser = MarkdownIt("commonmark", {"html": True}).enable("table")
    body = parser.render(spec_path().read_text(encoding="utf-8"))
    title = f"The safetensors file format {spec_version()}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>\n{body}</body></html>\n"
    )


def requirement_url(base: str, anchor: str) -> str:
    """The link to one requirement under ``base`` (a page or a URL; ``#anchor`` is appended)."""
    return f"{base}#{anchor}"
