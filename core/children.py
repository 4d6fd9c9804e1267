"""Child processes that die with their parent.

A crawl is a child process of `brandpatrol crawl` or of the scheduler. If that parent is killed (SIGKILL, the OOM
killer), nothing would stop the crawl: re-parented to PID 1 it would go on fetching and writing, unsupervised, past
its time limit. So the crawl asks the kernel to kill it when its parent dies (Linux's PR_SET_PDEATHSIG; elsewhere a
thread watches the parent's pid). Its own children go with it: Playwright's driver exits when its stdin closes, and
Chromium when the driver's pipe does.

The kernel sends the signal when the *thread* that started the child ends, so the supervisor waits for the crawl
in the thread that started it (as brandpatrol.jobs.crawl_one does).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCH_EVERY_S = 0.5


def _set_parent_death_signal(sig: int) -> bool:
    """Ask Linux to send `sig` to this process when its parent dies; False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    return bool(libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) == 0)


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def die_with_parent(parent_pid: int) -> None:
    """Be killed (SIGKILL: nothing more is written) as soon as process `parent_pid`, our parent, is gone.

    Called first thing in the child; a parent that died before this call is caught by the pid check after it.
    """
    if not _set_parent_death_signal(signal.SIGKILL):

        def watch() -> None:
            while os.getppid() == parent_pid:
                threading.Event().wait(WATCH_EVERY_S)
            _die()

        threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    if os.getppid() != parent_pid:
        _die()
