"""The spec as one self-contained HTML page, shipped beside the reports so their links work.

A browser shows the Markdown file as plain text and does not jump to its anchors; this page keeps
every requirement's anchor (``spec.html#buffer-no-overlap``) and needs nothing else to display.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from markdown_it import MarkdownIt

from .._resources import data_path
from ..spec import CHECKPOINT_SPEC_FILE, SPEC_FILE, Requirement, checkpoint_spec_version, spec_version

#: Where report links point by default: the page written next to them.
DEFAULT_SPEC_URL = "spec.html"
#: The checkpoint part's page, beside the file format's (a link to it replaces the last part of
#: the spec URL: ``../spec.html`` links to ``../checkpoint-spec.html``).
CHECKPOINT_PAGE = "checkpoint-spec.html"

_STYLE = """
body { font: 15px/1.55 system-ui, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; color: #1d2430; }
code, pre { font: .9em ui-monospace, monospace; } pre { background: #f5f7fa; padding: .6em; overflow-x: auto; }
table { border-collapse: collapse; } th, td { border: 1px solid #d6dbe3; padding: 2px 7px; }
th { background: #f3f5f8; } a[id]:target + strong { background: #fff2a8; }
a[id] { scroll-margin-top: 1em; }
"""


def render_spec(*, checkpoint: bool = False) -> str:
    """``spec/safetensors.md`` (or ``spec/checkpoint.md``) as HTML; its requirement anchors are the
    raw ``<a id>`` tags it holds."""
    parser = MarkdownIt("commonmark", {"html": True}).enable("table")
    source = data_path(*(CHECKPOINT_SPEC_FILE if checkpoint else SPEC_FILE))
    body = parser.render(source.read_text(encoding="utf-8"))
    title = (
        f"Sharded safetensors checkpoints {checkpoint_spec_version()}"
        if checkpoint
        else f"The safetensors file format {spec_version()}"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>\n{body}</body></html>\n"
    )


def requirement_url(base: str, requirement: Requirement) -> str:
    """The link to one requirement under ``base`` (the file format's page or URL; ``#anchor`` is
    appended); a checkpoint requirement links to :data:`CHECKPOINT_PAGE` beside it."""
    if requirement.document == CHECKPOINT_SPEC_FILE[1]:
        # Beside the file format's page: this project's HTML page, or the Markdown source when
        # the reports link to a copy of spec/ (``.../spec/safetensors.md``).
        folder, slash, page = base.rpartition("/")
        base = f"{folder}{slash}{CHECKPOINT_SPEC_FILE[1] if page.endswith('.md') else CHECKPOINT_PAGE}"
    return f"{base}#{requirement.anchor}"


def write_spec_pages(folder: Path) -> None:
    """Both parts' pages, where reports that use the default spec URL link to them."""
    (folder / DEFAULT_SPEC_URL).write_text(render_spec(), encoding="utf-8")
    (folder / CHECKPOINT_PAGE).write_text(render_spec(checkpoint=True), encoding="utf-8")
