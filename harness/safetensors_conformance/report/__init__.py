"""Rendering results: a summary table, a Markdown matrix, a self-contained HTML matrix, comparisons."""
