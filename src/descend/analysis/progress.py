"""Progress bars for the longer analysis routines (tqdm, on stderr, shown once a task has run for a second)."""

import contextlib
import sys


class _Silent:
    def update(self, n=1):
        pass


@contextlib.contextmanager
def progress_bar(enabled, total, desc):
    """``with progress_bar(enabled, total, desc) as bar: ... bar.update(1)``; a no-op when not ``enabled``."""
    if not enabled:
        yield _Silent()
        return
    from tqdm.auto import tqdm
    bar = tqdm(total=total, desc=desc, delay=1.0, mininterval=0.5, leave=False, file=sys.stderr)
    try:
        yield bar
    finally:
        bar.close()
