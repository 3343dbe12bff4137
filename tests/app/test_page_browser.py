"""The browser page driven in headless Chromium (Selenium) against a real ``python -m app``.

The served default model (``models/dlib-resnet-v1``) with API keys on: the key is typed into
the page's field, as a person would. Two photos of one person match with their boxes drawn; two
people do not; a photo without a face gets its message beside it; a person created, enrolled and
then identified is found; the page is usable from the keyboard alone and on a phone-sized
screen. With ``FACEVERIFY_SCREENSHOTS=1`` the tests write ``docs/page_compare.png`` and
``docs/page_people.png`` (the README shows them).

Skipped only where Chromium or chromedriver is missing (Debian: ``chromium chromium-driver``);
with ``CI=true`` they fail instead, as CI installs both (``.ci/run``).
"""

from __future__ import annotations

import http.server
import os
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import image_factory as images
import pytest
from fixture_paths import TINY_MODEL
from servers import ROOT, free_port, start_server, stop_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
HAVE_BROWSER = Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()
if not HAVE_BROWSER and os.environ.get("CI") == "true":
    raise RuntimeError("CI must run the browser tests: apt-get install chromium chromium-driver")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(not HAVE_BROWSER, reason="chromium and chromedriver are not installed"),
]

MODEL = ROOT / "models" / "dlib-resnet-v1"
HELD_OUT = images.FACES_DIR / "celeba_heldout"
SAME_1, SAME_2 = HELD_OUT / "07233" / "004800.jpg", HELD_OUT / "07233" / "009730.jpg"
OTHER = HELD_OUT / "07238" / "010481.jpg"
ENROLLED, PROBE = images.PHOTO_ONE_FACE, images.PHOTO_ONE_FACE_2
NO_FACE, TWO_FACES = images.PHOTO_NO_FACE, images.PHOTO_TWO_FACES
API_KEY = "page-test-key"
SCREENSHOTS = os.environ.get("FACEVERIFY_SCREENSHOTS") == "1"
WAIT_S = 60


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m app`` serving the default model (the tiny one if it is absent), keys on."""
    model = MODEL if (MODEL / "model.onnx").is_file() else TINY_MODEL
    port = free_port()
    folder = tmp_path_factory.mktemp("page")
    process = start_server(
        port,
        folder / "server.log",
        FACEVERIFY_MODEL_PATH=str(model),
        FACEVERIFY_DATA_DIR=str(folder / "data"),
        FACEVERIFY_API_KEYS=API_KEY,
        FACEVERIFY_PREPROCESS_WORKERS="1",
    )
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop_server(process)


@pytest.fixture(scope="module")
def proxied_url(base_url: str) -> Iterator[str]:
    """A reverse proxy serving the service under ``/faces/`` (as a site might), and only there."""
    upstream = base_url.rstrip("/")

    class Proxy(http.server.BaseHTTPRequestHandler):
        def forward(self) -> None:
            if not self.path.startswith("/faces/"):
                self.send_error(404)
                return
            length = int(self.headers.get("content-length") or 0)
            request = urllib.request.Request(
                upstream + self.path[len("/faces") :],
                data=self.rfile.read(length) if length else None,
                method=self.command,
                headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
            )
            try:
                response = urllib.request.urlopen(request, timeout=WAIT_S)
            except urllib.error.HTTPError as error:
                response = error
            body = response.read()
            self.send_response(response.status)
            for name, value in response.headers.items():
                if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = do_PATCH = forward  # noqa: N815 (http.server names)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/faces/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1200,1000")
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def needs_real_model() -> None:
    if not (MODEL / "model.onnx").is_file():
        pytest.fail("models/dlib-resnet-v1/model.onnx is missing: the page tests need it")


def open_page(driver, base_url: str, key: str | None = API_KEY) -> None:
    """Load the page afresh (a new tab session), type the key, wait for the model's points."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(base_url)
    driver.execute_script("sessionStorage.clear()")
    driver.get(base_url)
    if key is not None:
        driver.find_element("id", "api-key").send_keys(key)
    WebDriverWait(driver, WAIT_S).until(
        lambda d: len(d.find_elements("css selector", "#point option")) >= 1
    )


def wait_text(driver, element_id: str, *needles: str) -> str:
    """Wait until the element's text holds one of ``needles``; return that text."""
    from selenium.webdriver.support.ui import WebDriverWait

    def found(d):
        text = d.find_element("id", element_id).text
        return text if any(needle in text for needle in needles) else False

    return WebDriverWait(driver, WAIT_S).until(found)


def compare(driver, first: Path, second: Path) -> None:
    driver.find_element("id", "file-1").send_keys(str(first))
    driver.find_element("id", "file-2").send_keys(str(second))
    driver.find_element("id", "compare").click()


def green_pixels(driver, slot: int) -> int:
    """Pixels of the box colour (#00e676) on a photo's canvas: the drawn box and label."""
    return driver.execute_script(
        """const c = document.getElementById(arguments[0]);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) {
          if (d[i] === 0 && d[i + 1] === 230 && d[i + 2] === 118) n++;
        }
        return n;""",
        f"canvas-{slot}",
    )


def screenshot(driver, name: str) -> None:
    """Write docs/<name> at the page's full height (FACEVERIFY_SCREENSHOTS=1 only)."""
    if not SCREENSHOTS:
        return
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1200, min(max(height + 160, 600), 2400))
    driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
    driver.save_screenshot(str(ROOT / "docs" / name))
    driver.set_window_size(1200, 1000)


def test_two_photos_of_one_person_match_with_their_faces_drawn(browser, base_url):
    needs_real_model()
    open_page(browser, base_url)
    compare(browser, SAME_1, SAME_2)
    assert wait_text(browser, "verdict", "Same person", "Not the same") == "Same person"
    for slot in (1, 2):
        assert browser.find_element("id", f"canvas-{slot}").is_displayed()
        assert green_pixels(browser, slot) > 100
        crop = browser.find_element("id", f"crop-{slot}")
        assert crop.is_displayed() and crop.get_attribute("src").startswith("data:image/png")
    legend = browser.find_element("id", "scale-legend").text
    assert "(used)" in legend and legend.count("cosine") == 5  # the model's five points
    assert len(browser.find_elements("css selector", "#scale .tick")) == 5
    # A stricter point: the selector sends far=, the answer names its point.
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element("id", "point")).select_by_value("0.001")
    wait_text(browser, "similarity-line", "1 in 1,000")
    assert "used" in browser.find_element("css selector", "#scale-legend .chosen").text
    Select(browser.find_element("id", "point")).select_by_value("")
    wait_text(browser, "similarity-line", "default")
    screenshot(browser, "page_compare.png")


def test_two_people_do_not_match(browser, base_url):
    needs_real_model()
    open_page(browser, base_url)
    compare(browser, SAME_1, OTHER)
    assert wait_text(browser, "verdict", "Same person", "Not the same") == "Not the same person"
    assert "is below" in browser.find_element("id", "similarity-line").text


def test_a_photo_without_a_face_gets_its_message_beside_it(browser, base_url):
    needs_real_model()
    open_page(browser, base_url)
    compare(browser, SAME_1, NO_FACE)
    assert "No face was found" in wait_text(browser, "error-2", "No face")
    assert browser.find_element("id", "error-1").text == ""
    assert not browser.find_element("id", "result").is_displayed()
    assert green_pixels(browser, 1) > 100  # the good photo still shows its face


def test_the_face_used_is_marked_when_there_are_several(browser, base_url):
    needs_real_model()
    open_page(browser, base_url)
    compare(browser, SAME_1, TWO_FACES)
    assert wait_text(browser, "verdict", "Same person", "Not the same") == "Not the same person"
    note = browser.find_element("id", "faces-2").text
    found = int(note.split()[0])
    assert found >= 2 and "faces found; the marked one was compared" in note
    # Every face found is drawn (return_faces): the chosen box and a thin one per other face.
    canvas = browser.find_element("id", "canvas-2")
    assert canvas.get_attribute("data-boxes") == str(found)
    assert "other faces found" in canvas.get_attribute("aria-label")
    assert browser.find_element("id", "canvas-1").get_attribute("data-boxes") == "1"
    assert green_pixels(browser, 2) > 100


def test_the_page_works_behind_a_proxy_under_a_path_prefix(browser, proxied_url):
    """Every request goes under the prefix: the proxy answers 404 to anything outside it."""
    needs_real_model()
    open_page(browser, proxied_url)
    compare(browser, SAME_1, SAME_2)
    assert wait_text(browser, "verdict", "Same person", "Not the same") == "Same person"
    browser.find_element("id", "tab-people").click()
    wait_text(browser, "people-status", "Nobody", "Showing")
    assert browser.find_element("id", "people-error").text == ""


def test_without_the_key_the_page_says_one_is_needed(browser, base_url):
    needs_real_model()
    open_page(browser, base_url, key=None)
    compare(browser, SAME_1, SAME_2)
    assert "API key" in wait_text(browser, "compare-error", "API key")


def test_enrol_then_identify_finds_the_person(browser, base_url):
    needs_real_model()
    open_page(browser, base_url)
    browser.find_element("id", "tab-people").click()
    wait_text(browser, "people-status", "Nobody", "Showing")
    for person, name, photos in (
        ("ben", "Ben Example", [OTHER]),
        ("ada", "Ada Example", [ENROLLED, NO_FACE]),
    ):
        browser.find_element("id", "person-id").send_keys(person)
        browser.find_element("id", "person-name").send_keys(name)
        browser.find_element("id", "create").click()
        wait_text(browser, "person-title", f"{name} ({person})")
        browser.find_element("id", "enrol-files").send_keys("\n".join(map(str, photos)))
        browser.find_element("id", "enrol").click()
        result = wait_text(browser, "enrol-result", "enrolled")
        assert result.count("enrolled") == 1 and f"{photos[0].name}: enrolled." in result
        wait_text(browser, "people-table", name)
    assert "no_face.jpg: No face was found" in result
    browser.find_element("id", "identify-file").send_keys(str(PROBE))
    browser.find_element("id", "identify").click()
    summary = wait_text(browser, "identify-result", "Found", "Nobody")
    assert summary.startswith("Found: ada.") and "Threshold 0." in summary
    rows = [row.text for row in browser.find_elements("css selector", "#identify-result tbody tr")]
    assert rows[0].startswith("ada 0.9") and rows[0].endswith("yes")
    assert rows[1].startswith("ben ") and rows[1].endswith("no")
    screenshot(browser, "page_people.png")
    # Remove the template, then the person (a second press confirms).
    browser.find_element("css selector", "#person-faces button").click()
    wait_text(browser, "person-faces", "No templates yet")
    remove = browser.find_element("id", "remove-person")
    remove.click()
    assert "Yes, remove ada" in remove.text
    remove.click()
    assert "ada was removed" in wait_text(browser, "people-status", "removed")


def test_the_page_works_from_the_keyboard_alone(browser, base_url):
    """Tab through the page, switch tabs with Enter and the arrow keys, press buttons with
    Space; every stop is labelled and shows a visible focus ring."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    open_page(browser, base_url)
    # The key is kept for the tab: a reload finds it in the field again.
    browser.refresh()
    assert browser.find_element("id", "api-key").get_attribute("value") == API_KEY
    keys = ActionChains(browser)
    browser.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
    stops = []
    for _ in range(8):  # the 9th Tab leaves the page for the browser's own controls
        keys.send_keys(Keys.TAB).perform()
        stops.append(
            browser.execute_script(
                """const e = document.activeElement;
                const label = e.labels && e.labels.length ? e.labels[0].textContent
                  : e.getAttribute('aria-label') || e.textContent;
                const style = getComputedStyle(e);
                return [e.id, label.trim().replace(/\\s+/g, ' ').slice(0, 40),
                        style.outlineStyle, style.outlineWidth];"""
            )
        )
    ids = [stop[0] for stop in stops]
    print("keyboard stops:", stops)
    assert ids[:3] == ["api-key", "tab-compare", "file-1"], ids
    assert ids[3:] == ["camera-1", "file-2", "camera-2", "point", "compare"], ids
    assert all(stop[1] for stop in stops), stops  # every stop has a name
    assert all(stop[2] != "none" and stop[3] != "0px" for stop in stops), stops
    # Compare with no photos, by Space: the page says what is missing.
    browser.find_element("id", "compare").send_keys(Keys.SPACE)
    assert "Choose two photos" in wait_text(browser, "compare-error", "Choose")
    # The tab list: arrow keys move between tabs, Enter opens one.
    browser.find_element("id", "tab-compare").send_keys(Keys.ARROW_RIGHT)
    assert browser.switch_to.active_element.get_attribute("id") == "tab-people"
    assert browser.find_element("id", "panel-people").is_displayed()
    people_stops = []
    for _ in range(6):
        keys.send_keys(Keys.TAB).perform()
        focused = browser.switch_to.active_element
        people_stops.append(focused.get_attribute("id") or focused.get_attribute("aria-label"))
    print("keyboard stops, People:", people_stops)
    assert people_stops[:5] == ["identify-file", "identify", "person-id", "person-name", "create"]
    # Then the table's Open buttons (when people are enrolled), or the paging buttons.
    assert people_stops[5] == "people-first" or people_stops[5].startswith("Open "), people_stops
    # Enter in the name field adds the person (a form), then focus goes to its photos.
    browser.find_element("id", "person-name").send_keys("Keyboard Only", Keys.ENTER)
    wait_text(browser, "person-title", "Keyboard Only")
    assert browser.switch_to.active_element.get_attribute("id") == "enrol-files"
    remove = browser.find_element("id", "remove-person")
    remove.send_keys(Keys.ENTER)
    remove.send_keys(Keys.ENTER)
    wait_text(browser, "people-status", "removed")
    browser.find_element("id", "tab-people").send_keys(Keys.ARROW_LEFT)
    assert browser.find_element("id", "panel-compare").is_displayed()


def test_the_page_fits_a_phone_sized_screen(browser, base_url):
    open_page(browser, base_url, key=None)
    browser.set_window_size(390, 844)
    try:
        for tab in ("tab-compare", "tab-people"):
            browser.find_element("id", tab).click()
            overflow = browser.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, (tab, overflow)
    finally:
        browser.set_window_size(1200, 1000)
