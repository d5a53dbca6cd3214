"""Start-up of the ``mimkit`` console script before :func:`mimkit.cli.main` takes over, and
how its warnings print."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from typing import Iterator

#: File names of the console script pip writes (POSIX, Windows launcher's script).
_SCRIPT_NAMES = ("mimkit", "mimkit-script.py")


def quiet_interrupt_at_startup() -> None:
    """Make Ctrl-C while the ``mimkit`` script imports the package exit 130 without traceback.

    The script imports ``mimkit.cli`` (numpy, the compiled core, ...) before ``main`` can catch
    KeyboardInterrupt; an interrupt that escapes there reaches ``sys.excepthook``, which this
    replaces for that case only. A program that merely imports mimkit is left alone.
    """
    main = sys.modules.get("__main__")
    if os.path.basename(getattr(main, "__file__", None) or "") not in _SCRIPT_NAMES:
        return
    previous = sys.excepthook

    def hook(kind, value, traceback) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.stderr.write("mimkit: interrupted\n")
            sys.stderr.flush()
            os._exit(130)  # nothing to clean up yet: the command had not started
        previous(kind, value, traceback)

    sys.excepthook = hook


@contextlib.contextmanager
def one_line_warnings(command: str) -> Iterator[None]:
    """Inside the block, a warning that is shown prints as ``mimkit COMMAND: warning: ...``
    (one line) instead of Python's file, line number and source line. Which warnings are
    shown (the filters, ``-W``) is left as it is."""
    with warnings.catch_warnings():

        def show(message, category, filename, lineno, file=None, line=None) -> None:
            print(f"mimkit {command}: warning: {message}", file=file or sys.stderr)

        warnings.showwarning = show
        yield


quiet_interrupt_at_startup()
