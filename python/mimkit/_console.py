"""Start-up of the ``mimkit`` console script before :func:`mimkit.cli.main` takes over."""

from __future__ import annotations

import os
import sys

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


quiet_interrupt_at_startup()
