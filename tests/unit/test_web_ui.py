"""``/ui/``: the web view's files, served without the token and nothing outside the UI folder."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from ryu.app.wsgi import WSGIApplication
from webob import Request

from ryu_apps.rest_api import register_routes
from ryu_apps.web_ui import CYTOSCAPE_STYLE, CYTOSCAPE_STYLE_HASH, UI_DIR, ui_file
from vnstitch.core.actions import Reply
from vnstitch.core.commands import Command


class FakeController:
    """A ControllerApi that refuses every token and answers nothing: the files need neither."""

    open_reads = False

    def authorize(self, header: str | None) -> int:
        return 401 if not header else 403

    def call(self, command: Command) -> Reply:
        raise AssertionError(f"the web view's files asked the core: {command}")


@pytest.fixture
def wsgi() -> WSGIApplication:
    app = WSGIApplication()
    register_routes(app, FakeController())
    return app


def get(wsgi: WSGIApplication, path: str, **headers: str) -> object:
    return Request.blank(path, headers=headers).get_response(wsgi)


def test_the_page_and_its_modules_are_served_without_a_token(wsgi: WSGIApplication) -> None:
    page = get(wsgi, "/ui/")
    assert page.status_int == 200 and page.content_type == "text/html"
    assert b'src="app.mjs"' in page.body
    for name in re.findall(r'(?:src|href)="([^":]+)"', page.body.decode()):
        asset = get(wsgi, f"/ui/{name}")
        assert asset.status_int == 200, name
    module = get(wsgi, "/ui/app.mjs")
    assert module.content_type == "text/javascript"  # browsers refuse modules of other types
    assert get(wsgi, "/ui").status_int == 301 and get(wsgi, "/ui").location.endswith("/ui/")


def test_every_module_the_page_imports_is_there(wsgi: WSGIApplication) -> None:
    for module in UI_DIR.glob("*.mjs"):
        for name in re.findall(r'from "\./([^"]+)"', module.read_text()):
            assert (UI_DIR / name).is_file(), f"{module.name} imports {name}"
    worker = re.search(r'new Worker\("([^"]+)"\)', (UI_DIR / "map.mjs").read_text())
    assert worker, "the map lays out in a worker"
    answer = get(wsgi, f"/ui/{worker.group(1)}")
    assert answer.status_int == 200 and answer.content_type == "text/javascript"
    for name in re.findall(r'importScripts\("([^"]+)"\)', answer.body.decode()):
        assert (UI_DIR / name).is_file(), f"the worker loads {name}"


def test_responses_forbid_foreign_scripts_framing_and_sniffing(wsgi: WSGIApplication) -> None:
    page = get(wsgi, "/ui/")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "connect-src 'self'" in csp and "unsafe" not in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    again = get(wsgi, "/ui/", **{"If-None-Match": page.headers["ETag"]})
    assert again.status_int == 304


def test_the_one_style_cytoscape_injects_is_allowed_by_its_hash() -> None:
    vendored = (UI_DIR / "vendor" / "cytoscape" / "cytoscape.min.js").read_text()
    assert '" { position: relative; }"' in vendored and "__________cytoscape_container" in vendored
    digest = base64.b64encode(hashlib.sha256(CYTOSCAPE_STYLE.encode()).digest()).decode()
    assert f"sha256-{digest}" == CYTOSCAPE_STYLE_HASH


@pytest.mark.parametrize(
    "name",
    [
        "../openapi.json",
        "vendor/../../openapi.json",
        "./index.html",
        ".hidden",
        "nothing.js",
        "vendor",
        "vendor/cytoscape",
    ],
)
def test_nothing_outside_the_ui_folder_or_unknown_is_served(
    wsgi: WSGIApplication, name: str
) -> None:
    assert ui_file(name) is None
    assert get(wsgi, f"/ui/{name}").status_int == 404


def test_licences_of_the_vendored_libraries_are_served_as_text(wsgi: WSGIApplication) -> None:
    for licence in sorted(UI_DIR.glob("vendor/*/LICENSE")):
        name = licence.relative_to(UI_DIR).as_posix()
        answer = get(wsgi, f"/ui/{name}")
        assert answer.status_int == 200 and answer.content_type == "text/plain"
        assert b"Permission is hereby granted" in answer.body  # MIT, both of them
    versions = (UI_DIR / "vendor" / "VERSIONS").read_text().split("\n")
    pinned = {line.split()[0] for line in versions if line and not line.startswith("#")}
    assert pinned == {p.name for p in (UI_DIR / "vendor").iterdir() if p.is_dir()}


def test_other_methods_on_the_ui_are_405(wsgi: WSGIApplication) -> None:
    answer = Request.blank("/ui/", method="POST").get_response(wsgi)
    assert answer.status_int == 405 and answer.headers["Allow"] == "GET, OPTIONS"


def test_the_ui_folder_is_inside_the_package() -> None:
    assert (Path(__file__).resolve().parents[2] / "vnstitch/northbound/ui").resolve() == UI_DIR
