"""``python -m safetensors_conformance``: the same as the ``safetensors-conformance`` command."""

from .cli import entry

if __name__ == "__main__":
    entry()
