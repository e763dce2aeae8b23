"""One writer at a time across processes: an exclusive ``flock`` on a file, which the kernel releases when the
process holding it ends, however it ends (a SIGKILL included), so a crash never leaves a stale lock behind.
"""
from __future__ import annotations

import contextvars
import fcntl
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

WAIT_NOTICE_S = 1.0  # a writer still waiting after this long is told why (``on_wait``)


@contextmanager
def exclusive(path: Path, on_wait: Callable[[], None] | None = None, notice_s: float = WAIT_NOTICE_S
              ) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the ``with`` block. A lock held elsewhere (another
    process, or another thread of this one) is waited for; ``on_wait`` is called once after ``notice_s`` of waiting."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            # told from a timer thread in the caller's context (a web request's progress bar lives there)
            timer = threading.Timer(notice_s, contextvars.copy_context().run, (on_wait,)) if on_wait else None
            if timer:
                timer.daemon = True
                timer.start()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            finally:
                if timer:
                    timer.cancel()
        yield
    finally:
        os.close(fd)  # closing the only descriptor releases the lock


def is_held(path: Path) -> bool:
    """Whether some process holds the lock on ``path`` now (tried without waiting, released at once)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
