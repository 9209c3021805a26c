"""The viewer page in a real browser: headless Chromium driven by Selenium through Debian's chromedriver.

`.ci/run` installs `chromium` and `chromium-driver` with apt-get when they are missing; on a machine
without them these tests are skipped, saying so.
"""

from __future__ import annotations

import io
import shutil

import pytest
from PIL import Image

from src.data.vocab import CharVocab
from src.viewer.data import build_view_data
from src.viewer.page import render_page
from tests.viewer_page import feature_text, page_data, save_model

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="needs Debian's chromium and chromium-driver (apt-get install them)")


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> tuple[str, dict]:
    """The file:// URL of a viewer page for a small model, and the data it carries."""
    folder = tmp_path_factory.mktemp("browser")
    text = feature_text(400)
    model = save_model(folder / "model.pt", text)
    html = render_page(build_view_data(model, CharVocab.from_text(text), text, units=None, meta={
        "checkpoint": "model.pt", "source": "feature text", "source_length": len(text), "start": 0}))
    (folder / "viewer.html").write_text(html, encoding="utf-8")
    return (folder / "viewer.html").as_uri(), page_data(html)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--window-size=1280,900",
                     f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    yield driver
    driver.quit()


def open_page(browser, url: str) -> None:
    browser.get(url)
    browser.refresh()  # a real reload, so the view comes from the hash alone


def current_hash(browser) -> str:
    return browser.execute_script("return location.hash")


def test_the_page_loads_with_no_script_errors_and_one_element_per_character(browser, page):
    url, data = page
    open_page(browser, url)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#text span")) == len(data["text"])
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
    assert current_hash(browser) == f"#l=1&u={data['layers'][0]['units'][0]}&m=act"


def test_arrow_keys_change_the_unit_the_layer_and_the_hash(browser, page):
    url, data = page
    open_page(browser, url + "#l=1&u=0&m=act")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.ARROW_RIGHT)
    assert current_hash(browser) == "#l=1&u=1&m=act"
    body.send_keys(Keys.ARROW_LEFT, Keys.ARROW_LEFT)
    assert current_hash(browser) == f"#l=1&u={data['layers'][0]['units'][-1]}&m=act"  # wraps around
    body.send_keys(Keys.ARROW_DOWN)
    assert current_hash(browser).startswith("#l=2&")
    assert browser.find_element(By.ID, "layer").get_attribute("value") == "1"


def test_hovering_a_character_shows_its_top_five_and_surprisal(browser, page):
    url, _ = page
    open_page(browser, url)
    t = 10
    ActionChains(browser).move_to_element(browser.find_elements(By.CSS_SELECTOR, "#text span")[t]).perform()
    rows = browser.find_elements(By.CSS_SELECTOR, "#info-top5 tr")
    assert len(rows) == 5
    expected = browser.execute_script(f"return topFive({t}).map(([c, p]) => p.toFixed(3))")
    assert [row.find_elements(By.TAG_NAME, "td")[1].text for row in rows] == expected
    assert float(browser.find_element(By.ID, "info-surprisal").text) > 0
    assert browser.find_element(By.ID, "info-position").text == str(t)


def test_a_reload_with_a_hash_restores_the_view(browser, page):
    url, data = page
    unit = data["layers"][1]["units"][5]
    open_page(browser, url + f"#l=2&u={unit}&m=surprisal")
    assert browser.find_element(By.ID, "layer").get_attribute("value") == "1"
    assert browser.execute_script("return LAYERS[state.layer].units[state.unitIndex]") == unit
    assert browser.find_element(By.CSS_SELECTOR, "input[name=mode][value=surprisal]").is_selected()
    assert "surprisal" in browser.find_element(By.ID, "legend-title").text


def test_clicking_a_ranked_unit_selects_it(browser, page):
    url, _ = page
    open_page(browser, url)
    button = browser.find_elements(By.CSS_SELECTOR, ".ranking button")[0]
    layer, unit = int(button.get_attribute("data-layer")), int(button.get_attribute("data-unit"))
    button.click()
    assert current_hash(browser) == f"#l={layer + 1}&u={unit}&m=act"


def test_a_screenshot_is_not_blank(browser, page):
    url, _ = page
    open_page(browser, url)
    image = Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    assert len(colours) > 100  # text coloured by a unit, the legend, the heatmap: many colours
    assert max(count for count, _ in colours) < 0.9 * image.width * image.height
