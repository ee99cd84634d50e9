"""Render a results.html in headless Chromium and check the screenshot is a real page.

    python scripts/screenshot_report.py RESULTS.html [OUT.png]

Needs Debian's chromium (``apt-get install chromium``). Checks that the PNG is as large as asked
and not blank (many distinct colours in its pixels), and prints where it is, so a person can look.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

WIDTH, HEIGHT = 1400, 2000


def png_pixels(path: Path) -> tuple[int, int, bytes]:
    """Width, height and the decompressed (filtered) scanlines of an 8-bit RGB(A) PNG."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    position, chunks, width, height = 8, [], 0, 0
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    return width, height, zlib.decompress(b"".join(chunks))


def main() -> int:
    source = Path(sys.argv[1]).resolve()
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else source.with_suffix(".png")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={target.resolve()}",
                source.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )  # fmt: skip
    width, height, pixels = png_pixels(target)
    colours = len({pixels[i : i + 3] for i in range(0, min(len(pixels), 3_000_000), 3)})
    print(f"{target}: {width}x{height}, {colours} distinct byte triples")
    if (width, height) != (WIDTH, HEIGHT) or colours < 50:
        print("the screenshot looks blank or truncated", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
