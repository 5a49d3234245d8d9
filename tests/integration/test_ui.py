"""The web view in a real browser: headless Chromium (Debian's) driven by selenium.

One controller and a ring of four switches (one host each) for the module. The page is opened at
``/ui/`` as an operator would: a wrong token shows an error and no data; signing in with the
token shows every switch and link; a reservation made from the form becomes ACTIVE with its path
highlighted on the map; one is changed and withdrawn from its row; a link taken down shows on
the map within 2 s (the live feed, not a reload); with the event stream blocked the page polls
and still shows it. Screenshots go to ``test-artifacts/ui/`` (``VNSTITCH_ARTIFACTS`` moves it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from testbed.stack import Stack
from testbed.wait import wait_until

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("VNSTITCH_ARTIFACTS", ROOT / "test-artifacts")) / "ui"


@pytest.fixture(scope="module")
def stack(testbed_host: None) -> Iterator[Stack]:
    ring = nx.cycle_graph([1, 2, 3, 4])
    options = {"probe_interval_s": 0.5, "link_timeout_s": 3.5, "stats_interval_s": 1.0}
    with Stack(ring, controller=options) as s:
        yield s


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Any]:
    """Chromium, started once the network exists (see ``severe_console_errors``)."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("needs Debian's chromium and chromium-driver (run `make setup`)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.add_argument("--window-size=1500,900")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def shot(browser: Any, name: str) -> None:
    """Save a screenshot as a test artefact."""
    browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def js(browser: Any, script: str) -> Any:
    return browser.execute_script(f"return {script}")


def open_ui(browser: Any, stack: Stack, fragment: str = "") -> None:
    browser.get("about:blank")  # a fresh page: sessionStorage of the origin is cleared below
    browser.get(f"{stack.controller.rest_url}/ui/{fragment}")
    wait_until(lambda: js(browser, "!!window.vnstitchView"), 10.0, 0.05, "the page's script")


def drawn_links(browser: Any) -> list[str]:
    return list(
        js(browser, "window.vnstitchView.cy.edges().not('.attachment, .down').map(e => e.id())")
    )


def text(browser: Any, element_id: str) -> str:
    return str(browser.find_element("id", element_id).text)


def severe_console_errors(browser: Any) -> list[str]:
    """Errors the page logged since the last call.

    Refused data calls are expected, not errors. So is ``net::ERR_NETWORK_CHANGED``: Chromium
    aborts the requests in flight whenever an interface of the host changes, which Mininet's
    links do (in the root namespace); the page retries such a call, and every test asserts what
    the page shows after it.
    """
    refused = ("status of 401", "status of 403", "net::ERR_NETWORK_CHANGED")
    return [
        e["message"]
        for e in browser.get_log("browser")
        if e["level"] == "SEVERE" and not any(r in e["message"] for r in refused)
    ]


def test_a_wrong_token_shows_an_error_and_no_data(browser: Any, stack: Stack) -> None:
    open_ui(browser, stack)
    js(browser, "sessionStorage.clear()")
    open_ui(browser, stack, "#token=not-the-token")
    wait_until(lambda: "refused" in text(browser, "login-error"), 10.0, 0.05, "the error")
    shot(browser, "wrong-token")
    assert "403" in text(browser, "login-error")
    assert js(browser, "document.getElementById('login').open")
    assert js(browser, "location.hash") == ""  # the token left the address bar
    assert js(browser, "window.vnstitchView.cy.elements().length") == 0
    assert js(browser, "window.vnstitchView.state().switches.size") == 0
    assert text(browser, "counts") == "" and not browser.find_elements(
        "css selector", "#reservations tbody tr"
    )
    assert text(browser, "connection") == "signed out"


def test_signing_in_shows_every_switch_and_link(browser: Any, stack: Stack) -> None:
    severe_console_errors(browser)
    open_ui(browser, stack)
    js(browser, "sessionStorage.clear()")
    open_ui(browser, stack)
    wait_until(lambda: js(browser, "document.getElementById('login').open"), 10.0, 0.05, "login")
    browser.find_element("id", "token").send_keys(stack.token)
    browser.find_element("css selector", "#login-form button[type=submit]").click()
    switches = stack.graph.number_of_nodes()
    links = stack.graph.number_of_edges()

    def complete() -> bool:
        nodes = js(browser, "window.vnstitchView.cy.nodes('[kind = \"switch\"]').length")
        return bool(nodes == switches and len(drawn_links(browser)) == links)

    wait_until(complete, 10.0, 0.05, "every switch and link on the map")
    wait_until(lambda: text(browser, "connection") == "live", 5.0, 0.05, "the live feed")
    shot(browser, "signed-in")
    assert text(browser, "counts").startswith(f"{switches} switches · {links} links · 4 hosts")
    assert js(browser, "window.vnstitchView.cy.nodes('.host').length") == 4
    assert js(browser, "sessionStorage.getItem('vnstitch.token')") == stack.token
    assert stack.token not in browser.current_url
    assert not severe_console_errors(browser)


def click_in_row(browser: Any, row_css: str, label: str) -> None:
    """Click a row's button, finding the row again if the table was drawn anew meanwhile."""
    from selenium.common.exceptions import StaleElementReferenceException

    def clicked() -> bool:
        try:
            row = browser.find_element("css selector", row_css)
            row.find_element("xpath", f".//button[text()='{label}']").click()
        except StaleElementReferenceException:
            return False
        return True

    wait_until(clicked, 5.0, 0.05, f"{label} clicked")


def fill(browser: Any, name: str, value: str) -> None:
    field = browser.find_element("css selector", f"#create-form [name={name}]")
    field.clear()
    field.send_keys(value)


def test_a_reservation_from_the_form_is_active_with_its_path_highlighted(
    browser: Any, stack: Stack
) -> None:
    open_ui(browser, stack, f"#token={stack.token}")
    assert js(browser, "location.hash") == ""  # signed in directly, the token kept out of sight
    wait_until(lambda: len(drawn_links(browser)) == 4, 10.0, 0.05, "the map")
    browser.find_element("css selector", '[data-tab="create"]').click()
    fill(browser, "src", "h1")
    fill(browser, "dst", "h3")
    fill(browser, "bandwidth_mbps", "5")
    browser.find_element("id", "preview").click()
    wait_until(lambda: "Would take" in text(browser, "create-result"), 10.0, 0.05, "a preview")
    assert js(browser, "window.vnstitchView.cy.edges('.preview').length") == 2  # two hops
    shot(browser, "preview")
    browser.find_element("id", "create").click()
    active = "#reservations tbody tr.selected[data-state=ACTIVE]"
    res_id = wait_until(
        lambda: js(browser, f"document.querySelector('{active}')?.dataset.id"),
        10.0,
        0.05,
        "the new reservation ACTIVE and selected in the table",
    )
    res = stack.get(f"/v1/reservations/{res_id}")
    assert res["state"] == "ACTIVE" and (res["src"], res["dst"]) == ("h1", "h3")
    hops = {"|".join(sorted(pair)) for pair in zip(res["path"], res["path"][1:], strict=False)}
    highlighted = js(browser, "window.vnstitchView.cy.edges('.highlight').map(e => e.data('pair'))")
    assert set(highlighted) == hops and len(highlighted) == len(res["path"]) - 1
    shot(browser, "reservation-active")


def test_a_reservation_is_changed_and_withdrawn_from_its_row(browser: Any, stack: Stack) -> None:
    status, res = stack.request(
        "POST", "/v1/reservations", {"src": "h2", "dst": "h4", "bandwidth_mbps": 2}
    )
    assert status == 201, res
    open_ui(browser, stack, f"#token={stack.token}")
    row_css = f"#reservations tbody tr[data-id='{res['id']}']"
    wait_until(lambda: browser.find_elements("css selector", row_css), 10.0, 0.05, "the row")
    click_in_row(browser, row_css, "Change")
    field = wait_until(
        lambda: browser.find_elements("css selector", f"{row_css} input.bandwidth-input"),
        5.0,
        0.05,
        "the bandwidth editor",
    )[0]
    field.clear()
    field.send_keys("3\n")
    wait_until(
        lambda: stack.get(f"/v1/reservations/{res['id']}")["bandwidth_mbps"] == 3,
        10.0,
        0.1,
        "the new bandwidth",
    )
    wait_until(lambda: "3.00 Mbit/s" in text(browser, "reservations"), 5.0, 0.05, "the table")
    click_in_row(browser, row_css, "Withdraw")
    browser.switch_to.alert.accept()  # "Withdraw reservation N (h2 → h4)?"
    wait_until(lambda: not browser.find_elements("css selector", row_css), 5.0, 0.05, "row gone")
    assert stack.get(f"/v1/reservations/{res['id']}")["state"] == "RELEASED"
    shot(browser, "withdrawn")


def test_a_link_taken_down_changes_the_map_within_two_seconds(browser: Any, stack: Stack) -> None:
    severe_console_errors(browser)
    open_ui(browser, stack, f"#token={stack.token}")
    wait_until(lambda: len(drawn_links(browser)) == 4, 10.0, 0.05, "the map")
    wait_until(lambda: text(browser, "connection") == "live", 5.0, 0.05, "the live feed")
    assert stack.net is not None
    began = time.monotonic()
    stack.net.set_link_up(1, 2, False)
    try:
        wait_until(
            lambda: js(browser, "window.vnstitchView.cy.edges('.down').length") == 1,
            2.0,
            0.02,
            "the link drawn down",
        )
        seen_s = time.monotonic() - began
        assert len(drawn_links(browser)) == 3
        wait_until(lambda: "(1 down)" in text(browser, "counts"), 1.0, 0.02, "the count")
        print(f"link down on the map {seen_s:.2f} s after the port went down")
        shot(browser, "link-down")
        browser.find_element("css selector", '[data-tab="events"]').click()
        item = wait_until(
            lambda: [
                li
                for li in browser.find_elements("css selector", "#events li")
                if "down (port_down)" in li.text
            ],
            5.0,
            0.05,
            "the event in the feed",
        )[0]
        stamp = item.find_element("css selector", "time")
        assert stamp.get_attribute("title").endswith(" UTC")  # local time shown, UTC on hover
        shot(browser, "events")
    finally:
        stack.net.set_link_up(1, 2, True)
    wait_until(lambda: len(drawn_links(browser)) == 4, 15.0, 0.1, "the link back on the map")
    assert js(browser, "window.vnstitchView.cy.edges('.down').length") == 0
    assert not severe_console_errors(browser)


def test_without_the_stream_the_page_polls(browser: Any, stack: Stack) -> None:
    """The fallback: the event stream blocked in the browser, the page polls every 2 s."""
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/v1/stream*"]})
    try:
        open_ui(browser, stack, f"#token={stack.token}")
        wait_until(lambda: text(browser, "connection") == "polling", 15.0, 0.1, "polling")
        wait_until(lambda: len(drawn_links(browser)) == 4, 5.0, 0.05, "the map")
        assert stack.net is not None
        stack.net.set_link_up(2, 3, False)
        try:
            wait_until(
                lambda: js(browser, "window.vnstitchView.cy.edges('.down').length") == 1,
                4.0,
                0.05,
                "the link drawn down by polling",
            )
            shot(browser, "polling-link-down")
        finally:
            stack.net.set_link_up(2, 3, True)
        wait_until(lambda: len(drawn_links(browser)) == 4, 15.0, 0.1, "the link back")
    finally:
        browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
