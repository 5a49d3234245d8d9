"""Supply ``eventlet.wsgi.ALREADY_HANDLED`` for Ryu 4.34 on eventlet 0.33.

``ryu/app/wsgi.py`` does ``from eventlet.wsgi import ALREADY_HANDLED`` at class-definition
time. eventlet 0.33 removed that name; the equivalent there is setting
``eventlet.wsgi.WSGI_LOCAL.already_handled = True``. ``ryu-manager`` imports ``ryu.app.wsgi``
before it loads any app, so the fix has to be in place at interpreter start-up: the project's
set-up writes a ``.pth`` file into the virtualenv that calls :func:`install`, which registers a
``sys.meta_path`` finder. Once ``eventlet.wsgi`` has executed, the finder adds the missing name.
Nothing in Ryu or eventlet is edited.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any

_TARGET = "eventlet.wsgi"


class _AlreadyHandled:
    """An empty WSGI body that tells eventlet the response was written by the app itself."""

    def __iter__(self) -> Iterator[bytes]:
        wsgi = sys.modules.get(_TARGET)
        local = getattr(wsgi, "WSGI_LOCAL", None)
        if local is not None:
            local.already_handled = True
        return iter(())


def patch(module: ModuleType) -> None:
    """Add ``ALREADY_HANDLED`` to an executed ``eventlet.wsgi`` module if it lacks it."""
    if not hasattr(module, "ALREADY_HANDLED"):
        module.ALREADY_HANDLED = _AlreadyHandled()  # type: ignore[attr-defined]


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader) -> None:
        self._inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        patch(module)


class _Finder(importlib.abc.MetaPathFinder):
    """Wraps the normal loader of ``eventlet.wsgi`` so the module is patched after it runs."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _TARGET:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _PatchingLoader(spec.loader)
                return spec
        return None


def install() -> None:
    """Register the finder once (or patch at once if eventlet.wsgi is already imported)."""
    if _TARGET in sys.modules:
        patch(sys.modules[_TARGET])
        return
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
