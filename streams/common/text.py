"""One-line summaries for humans: what an agent sees at a glance."""

from __future__ import annotations

SUMMARY_LIMIT = 140


def first_line(text: str | None, limit: int = SUMMARY_LIMIT) -> str:
    """The first non-blank line of ``text``, cut to ``limit`` characters with an ellipsis."""
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
    return ""
