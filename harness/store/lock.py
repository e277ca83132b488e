"""One run per results folder at a time: `<results>/.lock`, held with an OS file lock, names the holder's pid.

Two `archbench run`s on one folder would resume the same run and time each other (numbers several times off,
done markers written twice). The second one stops with a one-line error naming the holder instead. The lock is
`fcntl.flock` on the file, so the kernel releases it when the holder dies: a lock file left by a killed run (a
stale pid) is simply taken over. The holder removes the file when done, while still holding the lock; a process
that opened the old file meanwhile sees it is no longer the one at the path and tries again.
"""
from __future__ import annotations

import fcntl
import os
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from harness.errors import ArchbenchError

LOCK = ".lock"


def _holder(path: Path) -> str:
    """What the lock file says about its holder: `pid N on HOST`, or that it could not be read."""
    try:
        pid, _, host = path.read_text(encoding="utf-8").strip().partition(" ")
    except (OSError, UnicodeDecodeError):
        return "another process"
    return f"pid {pid} on {host}" if pid.isdigit() else "another process"


@contextmanager
def results_lock(root: Path) -> Iterator[Path]:
    """Hold `<root>/.lock` for the duration of the block; ArchbenchError (one line) when another process holds it."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ArchbenchError(f"{root} is in use by archbench ({_holder(path)}; lock file {path}): one run per "
                                 "results folder at a time; wait for it, or pass another --results") from None
        try:
            same_file = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same_file = False
        if same_file:                                    # else the file was replaced while we waited: try again
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        yield path
    finally:
        path.unlink(missing_ok=True)                     # still held: a waiter that opened it retries (above)
        os.close(fd)                                     # releases the lock


__all__ = ["results_lock", "LOCK"]
