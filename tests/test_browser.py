"""The page at `/`, driven in Debian's headless Chromium through Playwright (never downloaded)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import ROOT
from test_http import running_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "tests" / "artifacts"
EXAMPLE = (ROOT / "examples" / "article.txt").read_text(encoding="utf-8")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).is_file(),
        reason="no Chromium (apt-get install -y chromium chromium-driver)",
    ),
]


@pytest.fixture(scope="module")
def server(tiny_model_dir: Path) -> Iterator[str]:
    with running_server(tiny_model_dir) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def test_page_highlights_each_sentence(server: str, browser) -> None:
    expected = httpx.post(f"{server}/v1/score", json={"text": EXAMPLE}, timeout=60).json()
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server + "/")
    page.fill("#article", EXAMPLE)
    page.click("#score")
    page.wait_for_selector("body[data-scored=true]", timeout=60_000)

    spans = page.locator("#article-view .sentence")
    assert spans.count() == len(expected["sentences"]) == 28
    for i, sentence in enumerate(expected["sentences"]):
        span = spans.nth(i)
        assert span.text_content() == sentence["text"]
        assert span.get_attribute("data-stance") == sentence["stance"]["label"]
        assert span.get_attribute("data-sentiment") == sentence["sentiment"]["label"]
        assert span.get_attribute("data-boilerplate") == str(sentence["boilerplate"]).lower()
    colours = {
        span.evaluate("node => getComputedStyle(node).backgroundColor")
        for span in spans.all()
        if span.get_attribute("data-boilerplate") == "false"
    }
    assert len(colours) == len(
        {s["stance"]["label"] for s in expected["sentences"] if not s["boilerplate"]}
    )
    assert page.locator("#article-view .sentence[data-boilerplate=true]").count() == 12
    assert page.locator("#article-view .senti").count() == 28
    summary = expected["summary"]
    assert page.text_content("#overall") == summary["overall_stance"]
    assert page.text_content("#body-count") == "16"
    assert page.locator("#sentence-rows tr").count() == 28
    assert "12 boilerplate" in page.text_content("#status")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "page.png"), full_page=True)
    assert (ARTIFACTS / "page.png").stat().st_size > 10_000

    page.locator("#sentence-rows tr").nth(6).click()
    assert "selected" in (spans.nth(6).get_attribute("class") or "")
    assert errors == []
    page.close()


def test_page_reports_errors(server: str, browser) -> None:
    page = browser.new_page()
    page.goto(server + "/")
    page.click("#score")
    assert "Paste an article first" in page.text_content("#status")
    page.fill("#article", "Talks resumed.")
    page.fill("#target", "x" * 300)
    page.click("#score")
    page.wait_for_function("document.querySelector('#status').classList.contains('error')")
    assert "422: body.target" in page.text_content("#status")
    page.close()


def test_page_at_laptop_width_fits_and_shows_speakers(server: str, browser) -> None:
    """1280x800: the sentence table stays inside its card (a long URL used to push it out)."""
    url = "https://www.example.com/2025/09/18/" + "arvania-offers-ceasefire-talks-" * 4 + "a12345"
    text = f"{EXAMPLE}\nOriginal url:\n\n{url}\n"
    expected = httpx.post(f"{server}/v1/score", json={"text": text}, timeout=60).json()
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server + "/")
    page.fill("#article", text)
    page.click("#score")
    page.wait_for_selector("body[data-scored=true]", timeout=60_000)

    sizes = page.evaluate(
        """() => {
          const card = document.querySelector('#details').getBoundingClientRect();
          const table = document.querySelector('#details table').getBoundingClientRect();
          const panel = document.querySelector('#speakers').getBoundingClientRect();
          return {card: card.right, table: table.right, panel: panel.right,
                  page: document.documentElement.scrollWidth};
        }"""
    )
    assert sizes["table"] <= sizes["card"], sizes
    assert sizes["panel"] <= 1280 and sizes["page"] <= 1280, sizes

    speakers = [entry["speaker"] for entry in expected["summary"]["by_speaker"]]
    assert "Teodor Malik" in speakers and "Stefan Ruel" in speakers
    shown = page.locator("#speaker-list .speaker-name").all_text_contents()
    assert shown == speakers
    malik = page.locator('#speaker-list .speaker[data-speaker="Teodor Malik"]')
    assert malik.locator(".speaker-refs a").count() == 3
    rows = page.locator("#sentence-rows tr")
    for i, sentence in enumerate(expected["sentences"]):
        label = rows.nth(i).locator(".who")
        assert label.count() == (1 if sentence["speaker"] else 0)
        if sentence["speaker"]:
            assert label.text_content().startswith(sentence["speaker"])

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "page-1280x800.png"), full_page=True)
    assert (ARTIFACTS / "page-1280x800.png").stat().st_size > 10_000

    malik.locator(".speaker-refs a").nth(1).click()  # sentence 8: the continued quote
    assert "selected" in (
        page.locator("#article-view .sentence").nth(7).get_attribute("class") or ""
    )
    assert errors == []
    page.close()
