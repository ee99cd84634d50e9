"""Tensor names: anything but __metadata__ (NAME-PORTABLE is a SHOULD)."""

from __future__ import annotations

from collections.abc import Iterator

from ..build import Draft, tensor, valid

W = tensor("U8", (2,))


def drafts() -> Iterator[Draft]:
    for name, text, what in (
        ("empty", "", "the empty string (a warning)"),
        ("control", "a\x07b", "a control character (a warning)"),
        ("path-traversal", "../../etc/passwd", "a path that climbs out of a directory"),
        ("absolute-path", "/etc/shadow", "an absolute path"),
        ("windows-path", "C:\\Windows\\system32", "a Windows path with backslashes"),
        ("spaces", "  padded name  ", "leading and trailing spaces"),
        ("dots", "model.layers.0.self_attn.q_proj.weight", "the usual dotted module path"),
        ("metadata-upper", "__METADATA__", "__metadata__ in capitals (a different name)"),
        ("metadata-prefix", "__metadata__.w", "a name that starts with __metadata__"),
        ("metadata-space", "__metadata__ ", "__metadata__ with a trailing space"),
        ("html", "<script>alert(1)</script>", "markup"),
        ("format-string", "%s%s%n{0}", "format directives"),
        ("long", "n" * 10000, "10,000 characters"),
        ("rtl", "\u202ereversed", "a right-to-left override"),
        ("zero-width", "a\u200bb", "a zero-width space"),
    ):
        yield valid(
            f"{name}",
            f"a tensor named with {what}",
            ["NAME-PORTABLE" if name in {"empty", "control"} else "READER-CONTENT"],
            {text: W},
        )
