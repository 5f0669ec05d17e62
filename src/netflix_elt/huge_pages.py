"""Transparent huge pages off for a `netflix-elt` process (Linux `prctl(PR_SET_THP_DISABLE)`).

numpy (for arrays of 4 MB and more) and pyarrow's allocator ask the kernel for 2 MB pages
(`madvise(MADV_HUGEPAGE)`). Where the kernel's `transparent_hugepage/defrag` is `madvise` (a common
default), each such fault may wait for the kernel to find or compact 2 MB of free memory, and on a
VM whose free memory the host takes back (free page reporting) that memory is backed afresh: on this
project's 2-core VM a 160 MB `np.arange` took 1.6 s of system time with huge pages and 0.06 s
without, and the ml-20m full build spent 41 s of system time in page faults (13.5 s without). The
4 KB pages a process gets instead are mostly ones it freed a moment ago. Like gc_tuning, applied
only to the command's own process (and the warm process, whose forks inherit it), never where
netflix_elt is a library; `NETFLIX_ELT_HUGE_PAGES=1` keeps the kernel's default.
"""

from __future__ import annotations

import ctypes
import os
import sys

PR_SET_THP_DISABLE = 41  # <linux/prctl.h>, since Linux 3.15
KEEP_VARIABLE = "NETFLIX_ELT_HUGE_PAGES"


def keep_off_huge_pages() -> bool:
    """Turn transparent huge pages off for this process and its children; True when the kernel did."""
    if not sys.platform.startswith("linux") or os.environ.get(KEEP_VARIABLE) == "1":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):  # no libc symbol to call: the kernel's default stays
        return False
