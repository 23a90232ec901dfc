"""The query page in a real browser: headless Chromium (Debian's chromium and chromium-driver) via Selenium
opens `/`, finds the SPARQL editor (YASQE from the vendored YASGUI) with the prefixes folded, asks the headline
question, finds the conditions in the result table (YASR, labels linked to entity pages), reopens the result from
its URL, completes terms in the editor, follows a label to the entity page, checks that nothing was fetched from
elsewhere, and leaves screenshots in test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.endpoint import running_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs /usr/bin/chromium and /usr/bin/chromedriver (apt-get install chromium chromium-driver; "
    ".ci/run installs them)",
)
webdriver = pytest.importorskip("selenium.webdriver")
pytest.importorskip("uvicorn")

# Headless, and nothing of Chromium's own reaching out to the network (which is closed here anyway).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1500,1300"]  # fmt: skip


def _browser(profile: Path):
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def _screenshot(driver, name: str) -> Path:
    """A screenshot of the window (1500 x 1300: the form and the first rows of the table)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    return path


def _editor(driver) -> str:
    return driver.execute_script("return window.ckgPage.yasqe.getValue()")


def _completions(driver, text: str) -> list[str]:
    """The editor's completions at the end of ``text`` (what Ctrl+Space shows)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script(
        "document.querySelectorAll('.CodeMirror-hints').forEach((e) => e.remove());"
        "const y = window.ckgPage.yasqe; y.setValue(arguments[0]); y.focus(); y.setCursor(y.lineCount() - 1, 1e6);"
        "y.autocomplete();",
        text,
    )
    hints = WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".CodeMirror-hints li"))
    return [hint.text for hint in hints]


def _ready(driver) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true")


def test_page_answers_the_headline_question(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    with running_server(tmp_path / "serve.log") as server:
        driver = _browser(tmp_path / "profile")
        try:
            driver.get(server.url + "/")
            wait = WebDriverWait(driver, 30)
            _ready(driver)
            assert "PREFIX ckg: <https://w3id.org/clinical-kg/vocab/>" in _editor(driver)  # prefixes filled in ...
            assert driver.find_elements(By.CSS_SELECTOR, "#editor .CodeMirror-foldmarker")  # ... and folded
            assert driver.find_elements(By.CSS_SELECTOR, "#editor .cm-keyword")  # highlighted as SPARQL

            Select(driver.find_element(By.ID, "example")).select_by_value("conditions-causing-symptom")
            assert driver.find_element(By.ID, "param-symptom").get_attribute("value") == "radiating leg pain"
            assert "VALUES ?requested" in _editor(driver)
            driver.find_element(By.ID, "ask").click()
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#result-table tbody tr"))
            first_column = driver.find_elements(By.CSS_SELECTOR, "#result-table tbody td:first-child a")
            labels = {a.text for a in first_column}
            assert labels == {"herniated disc", "pressure on the sciatic nerve", "lower back muscle spasm"}  # stated
            assert all(a.get_attribute("href").startswith(server.url + "/entity?iri=") for a in first_column)
            assert driver.find_element(By.ID, "status").text.endswith("ms")
            headers = [th.text for th in driver.find_elements(By.CSS_SELECTOR, "#result-table th")]
            # labels shown, not a label column; basis tells a statement from an inference
            assert headers[:5] == ["condition", "relation", "symptom", "basis", "hedge"]
            bookmark = server.url + "/?question=conditions-causing-symptom&symptom=radiating+leg+pain"
            assert driver.current_url == bookmark == driver.find_element(By.ID, "permalink").get_attribute("href")
            page_shot = _screenshot(driver, "query-page-headline.png")

            driver.find_element(By.ID, "run").click()  # the editor's text: the same question
            wait.until(lambda d: "?query=" in d.current_url and "rows in" in d.find_element(By.ID, "status").text)
            rows = driver.find_elements(By.CSS_SELECTOR, "#result-table tbody tr")
            assert len(rows) == len(first_column)

            driver.get(bookmark)  # a bookmarked or shared result opens answered
            _ready(driver)
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#result-table tbody tr"))
            assert len(driver.find_elements(By.CSS_SELECTOR, "#result-table tbody tr")) == len(first_column)

            assert _completions(driver, "SELECT * WHERE { ?s ckg:hasSy") == ["ckg:hasSymptom"]
            assert "ckg:Condition" in _completions(driver, "SELECT * WHERE { ?s a ckg:Cond")
            assert "ckgid:sciatica" in _completions(driver, "SELECT * WHERE { ckgid:sciat")

            loaded = driver.execute_script("return performance.getEntriesByType('resource').map((e) => e.name)")
            assert loaded and all(url.startswith(server.url + "/") for url in loaded), loaded  # no CDN, no web
            assert driver.execute_script("return window.ckgPage.cspViolations") == []

            driver.get(bookmark)
            _ready(driver)
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#result-table tbody tr"))
            links = driver.find_elements(By.CSS_SELECTOR, "#result-table a")
            next(a for a in links if a.text == "herniated disc").click()
            wait.until(lambda d: d.find_element(By.TAG_NAME, "h1").text == "herniated disc")
            assert "A herniated disc can cause pressure on your sciatic nerve" in driver.page_source
            entity_shot = _screenshot(driver, "entity-page-herniated-disc.png")
        finally:
            driver.quit()
    with capsys.disabled():
        print(f"\nscreenshots: {page_shot} {entity_shot}")
