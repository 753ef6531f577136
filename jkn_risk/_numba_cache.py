"""Numba's on-disk cache, made safe across edits of the package's kernel files.

Numba (0.68) keys a cached function by the hash of *its own* source file only. A kernel that
inlines a function from another file (the claims driver calls ``sampling``, ``lognormal``,
``rng``...) keeps its stale machine code after that other file changes; a stale cached kernel
that links against a changed helper can crash the process (upstream:
https://github.com/numba/numba/issues/1833).

:func:`install` puts one locator class per stock Numba locator in front of Numba's list. Each
applies only to files inside this package, finds the same cache folder as the stock one, and
stamps the cache with :func:`kernel_source_digest` -- the hash of every module of the package
that uses Numba -- instead of the function's own file. Any edit of a kernel file therefore
invalidates every kernel cache of the package (one recompile, ~30 s) and nothing else.

:mod:`jkn_risk.rng` calls :func:`install` on import, and every module that defines
``cache=True`` functions imports ``rng`` (directly or through ``kernels.sampling``) before its
first decorator; ``tests/unit/test_numba_cache.py`` checks that each cached dispatcher uses it and
that an edit of a callee in another file reaches the caller.
"""
from __future__ import annotations

import functools
import hashlib
import os
import re
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
_IMPORTS_NUMBA = re.compile(rb"^\s*(?:from|import)\s+numba\b", re.MULTILINE)


@functools.lru_cache(maxsize=None)
def kernel_source_digest(root: str = str(PACKAGE_DIR)) -> str:
    """SHA-256 of the relative path and bytes of every ``*.py`` under ``root`` that imports
    ``numba`` (the files whose code can end up inside a compiled kernel) or is ``codes.py``
    (whose integer constants kernels freeze into their code), in sorted order."""
    h = hashlib.sha256()
    base = Path(root)
    for path in sorted(base.rglob("*.py")):
        data = path.read_bytes()
        if _IMPORTS_NUMBA.search(data) or path.name == "codes.py":
            h.update(str(path.relative_to(base)).encode() + b"\0" + data + b"\0")
    return h.hexdigest()


def _inside(py_file: str, root: str) -> bool:
    try:
        return os.path.commonpath([os.path.realpath(py_file), root]) == root
    except ValueError:  # different drives
        return False


def _package_locator(base: type, root: str) -> type:
    """A subclass of Numba locator ``base`` for files under ``root`` stamped by the digest."""

    class PackageDigestLocator(base):
        package_root = root

        def get_source_stamp(self):
            return ("jkn_risk-kernel-digest", kernel_source_digest(self.package_root))

        @classmethod
        def from_function(cls, py_func, py_file):
            if not _inside(py_file, cls.package_root):
                return None
            return super().from_function(py_func, py_file)

    PackageDigestLocator.__name__ = PackageDigestLocator.__qualname__ = (
        f"PackageDigest{base.__name__}")
    return PackageDigestLocator


@functools.lru_cache(maxsize=None)
def install(root: str = str(PACKAGE_DIR)) -> tuple[type, ...]:
    """Register the digest-stamped locators for files under ``root`` (idempotent).

    Returns the locator classes put in front of Numba's list (empty if this Numba has no
    ``CacheImpl._locator_classes`` (``_CacheImpl`` in older releases): then caching falls back
    to Numba's own rules, and ``tests/unit/test_numba_cache.py`` fails).
    """
    from numba.core import caching

    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
    stock = getattr(impl, "_locator_classes", None)
    if not isinstance(stock, list):
        return ()
    # The stock locators that read a source file (NUMBA_CACHE_DIR, in-tree __pycache__,
    # user-wide cache dir), in Numba's order; IPython and zip-file locators are left alone.
    wanted = ("UserProvidedCacheLocator", "InTreeCacheLocator", "UserWideCacheLocator")
    resolved = str(Path(root).resolve())
    ours = tuple(_package_locator(c, resolved) for c in stock if c.__name__ in wanted)
    stock[:0] = list(ours)
    return ours
