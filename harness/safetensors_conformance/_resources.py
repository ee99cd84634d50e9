"""Where the suite's data lives: ``spec/``, ``schema/`` and ``vectors/``.

In a wheel they are package data under ``safetensors_conformance/_data/``; in a source checkout
(an editable install, or ``PYTHONPATH=harness``) they are the top-level folders of the repository.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
#: Wheel layout first, then the checkout: ``harness/safetensors_conformance`` → repository root.
_ROOTS = (_PACKAGE / "_data", _PACKAGE.parent.parent)


def data_root(folder: str) -> Path:
    """The directory holding ``folder`` (``"spec"``, ``"schema"`` or ``"vectors"``)."""
    for root in _ROOTS:
        candidate = root / folder
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"cannot find the {folder}/ folder in {' or '.join(map(str, _ROOTS))}")


def data_path(folder: str, *parts: str) -> Path:
    """A file or directory inside one of the data folders."""
    return data_root(folder).joinpath(*parts)


def checkout_root() -> Path | None:
    """The repository root when running from a source checkout, else ``None``."""
    root = _ROOTS[1]
    return root if (root / "spec").is_dir() and (root / "harness").is_dir() else None
