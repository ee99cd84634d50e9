"""Finding adapters: entry points, a user's ``module:attr``, or an external program.

Selection strings:

* ``NAME`` or ``NAME:key=value,key=value`` — an adapter registered on the entry-point group
  ``safetensors_conformance.adapters`` (the built-ins register there too), with options passed to
  its factory as keyword arguments, for example ``safetensors-pt:device=cuda:0``;
* ``module:attr`` — a user's adapter class or factory, imported from ``module``;
* ``cmd:PROGRAM ARGS`` — an external program run once per file (one-shot mode);
* ``serve:PROGRAM ARGS`` — an external program that serves JSON lines (persistent mode).

Only the selected adapter is imported.
"""

from __future__ import annotations

import shlex
from functools import cache
from importlib import import_module
from typing import Any

from .protocol import Adapter

GROUP = "safetensors_conformance.adapters"


class SelectionError(ValueError):
    """A selection string that does not name an adapter."""


@cache
def registered() -> dict[str, str]:
    """Registered adapter names and the object each entry point names (looked up once)."""
    # Imported here: a worker that is handed its adapter's module:attr never scans entry points,
    # and importlib.metadata is half of a worker's start-up.
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def parse(selection: str) -> tuple[str, str, dict[str, str]]:
    """(kind, target, options): kind is ``registered``, ``object``, ``cmd`` or ``serve``."""
    selection = selection.strip()
    if not selection:
        raise SelectionError("empty adapter selection")
    for prefix in ("cmd", "serve"):
        if selection.startswith(prefix + ":"):
            command = selection[len(prefix) + 1 :].strip()
            if not command:
                raise SelectionError(f"{prefix}: needs a program to run")
            return prefix, command, {}
    name, separator, rest = selection.partition(":")
    names = registered()
    if name in names:
        return "registered", name, _split_options(selection)[2]
    if separator and rest and "=" not in rest:
        return "object", selection, {}
    known = ", ".join(sorted(names)) or "none"
    raise SelectionError(
        f"no adapter named {name!r} (registered: {known}; or use module:attr, cmd:PROGRAM, serve:PROGRAM)"
    )


def registered_target(selection: str) -> str | None:
    """The ``module:attr`` a registered selection names (``None`` for other kinds)."""
    kind, target, _ = parse(selection)
    return registered()[target] if kind == "registered" else None


def resolve(selection: str, target: str | None = None) -> Adapter:
    """The adapter a selection string names, constructed and ready.

    ``target`` (from :func:`registered_target`) skips looking the name up again.
    """
    if target is not None:
        _, _, options = _split_options(selection)
        factory = _load(target)
        adapter = factory(**options) if options else factory()
        return _checked(selection, adapter, options)
    kind, target, options = parse(selection)
    if kind in ("cmd", "serve"):
        from .external import OneShotAdapter, PersistentAdapter

        argv = shlex.split(target)
        return OneShotAdapter(selection, argv) if kind == "cmd" else PersistentAdapter(selection, argv)
    factory = _load(registered()[target] if kind == "registered" else target)
    adapter = factory(**options) if options else factory()
    return _checked(selection, adapter, options if kind == "registered" else {})


def _checked(selection: str, adapter: object, options: dict[str, str]) -> Adapter:
    if not isinstance(adapter, Adapter):
        kind = type(adapter).__name__
        raise SelectionError(f"{selection!r} made {kind}, which is not an adapter (needs name, describe, load)")
    if options:
        adapter.name = selection
    return adapter


def _split_options(selection: str) -> tuple[str, str, dict[str, str]]:
    """NAME, the text after it, and its key=value options."""
    name, separator, rest = selection.partition(":")
    options: dict[str, str] = {}
    if separator:
        for item in rest.split(","):
            key, equals, value = item.partition("=")
            if not equals or not key.strip():
                raise SelectionError(f"option {item!r} of {name!r} is not key=value")
            options[key.strip()] = value.strip()
    return name, rest, options


def _load(reference: str) -> Any:
    module_name, _, attribute = reference.partition(":")
    try:
        value: Any = import_module(module_name)
    except ImportError as error:
        raise SelectionError(f"cannot import {module_name!r}: {error}") from error
    for part in attribute.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise SelectionError(f"{module_name!r} has no attribute {attribute!r}") from None
    return value
