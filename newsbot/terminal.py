"""Terminal output helpers for the CLI: a progress bar that shows only on a terminal."""

from __future__ import annotations

from typing import TextIO


class ProgressBar:
    """`[#####     ] 12/40 outlets` redrawn in place; silent when the stream is not a terminal."""

    WIDTH = 30

    def __init__(self, stream: TextIO, total: int, label: str) -> None:
        self._stream = stream
        self._total = total
        self._label = label
        self._done = 0
        self._shown = stream.isatty() and total > 1

    def advance(self, *_: object) -> None:
        self._done += 1
        if self._shown:
            filled = self.WIDTH * self._done // self._total
            bar = "#" * filled + " " * (self.WIDTH - filled)
            self._stream.write(f"\r[{bar}] {self._done}/{self._total} {self._label}")
            self._stream.flush()

    def close(self) -> None:
        if self._shown:
            self._stream.write("\r" + " " * (self.WIDTH + 40) + "\r")
            self._stream.flush()
