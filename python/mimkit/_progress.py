"""Progress bars of the training loops: they appear only once a loop has run a while."""

from __future__ import annotations

from typing import Callable, Union

from tqdm.auto import tqdm

#: Seconds a loop must run before its progress bar appears.
PROGRESS_DELAY_S = 2.0

Progress = Union[bool, Callable[[int], None]]


class progress_callback:
    """Context manager yielding a loop's progress callback ``(done) -> None`` (a tqdm bar, a
    user callable, or None) and closing the bar afterwards.

    Parameters
    ----------
    progress : bool or callable(done)
        True shows a bar once the loop has run ``PROGRESS_DELAY_S``; a callable is returned as
        is; False gives None.
    total : int, the bar's length.  desc, unit : str, its labels.
    """

    def __init__(self, progress: Progress, total: int, desc: str = "phase 1", unit: str = "step"):
        self.progress, self.total, self.bar = progress, total, None
        self.desc, self.unit = desc, unit

    def __enter__(self):
        if callable(self.progress):
            return self.progress
        if not self.progress:
            return None
        self.bar = tqdm(
            total=self.total, desc=self.desc, unit=self.unit, delay=PROGRESS_DELAY_S, leave=False
        )
        bar = self.bar
        return lambda done: bar.update(done - bar.n)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
        return False
