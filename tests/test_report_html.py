"""The HTML matrix: what the page holds without a script, and its filters and search in Chromium.

The page is rendered from a real run (the reference and safetensors on four groups), so that
safetensors' duplicate-name failures give the filters something to find. The browser tests drive
Debian's chromium through Playwright and are skipped only where /usr/bin/chromium is absent.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from safetensors_conformance.cli import main
from safetensors_conformance.corpus import Corpus, load_corpus
from safetensors_conformance.report import html
from safetensors_conformance.runner.results import Results

CHROMIUM = Path("/usr/bin/chromium")
#: Without these, a Chromium with no network stalls on start-up trying to reach Google's services.
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
#: dtypes: its vectors cite DATA-ENCODING only second, so that section holds no row of its own.
GROUPS = ["duplicates", "buffer", "framing", "dtypes"]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Results:
    folder = tmp_path_factory.mktemp("run")
    argv = ["run", "--impl", "reference", "--impl", "safetensors", "--out", str(folder), "--quiet"]
    status = main([*argv, *(f"--group={g}" for g in GROUPS)], io.StringIO(), io.StringIO())
    assert status == 1  # safetensors keeps the last of duplicate names
    return Results.read(folder / "results.json")


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus()


@pytest.fixture(scope="module")
def page_path(results: Results, corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("page") / "results.html"
    path.write_text(html.render(results, corpus), encoding="utf-8")
    return path


def failing(results: Results, implementation: str) -> set[str]:
    return {r.vector for r in results.results if r.implementation == implementation and r.verdict.failed}


def parse_hexdump(text: str) -> bytes:
    """The bytes of a dump as ``html.hexdump`` writes it (offset, two groups of hex, text)."""
    data = bytearray()
    for number, line in enumerate(text.splitlines()):
        assert int(line[:4], 16) == 16 * number
        data += bytes.fromhex(line[6:54])  # the text column may hold a "|" itself
    return bytes(data)


class _Page(HTMLParser):
    """Every id, the vector rows with the requirements they cite, their hex dumps, and anything
    that would load from elsewhere."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.rows: dict[str, list[str]] = {}
        self.hex: dict[str, str] = {}
        self.loads: list[str] = []
        self.filters_hidden = False
        self.links: list[dict[str, str | None]] = []
        self._row: str | None = None
        self._in_hex = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.append(str(values["id"]))
        if "src" in values or tag in ("link", "img", "iframe", "object", "embed"):
            self.loads.append(tag)
        if tag == "form" and values.get("id") == "filters":
            self.filters_hidden = "hidden" in values
        if tag == "tr" and values.get("class") == "vec":
            self._row = str(values["id"])
            self.rows[self._row] = str(values.get("data-r")).split()
        if tag == "pre" and values.get("class") == "hex":
            self._in_hex = True
            self.hex[str(self._row)] = ""
        if tag == "a":
            self.links.append(values)

    def handle_endtag(self, tag: str) -> None:
        self._in_hex = self._in_hex and tag != "pre"

    def handle_data(self, data: str) -> None:
        if self._in_hex:
            self.hex[str(self._row)] += data


@pytest.fixture(scope="module")
def parsed(page_path: Path) -> _Page:
    page = _Page()
    page.feed(page_path.read_text(encoding="utf-8"))
    return page


def test_hexdump_round_trips_and_shows_printable_text() -> None:
    data = bytes(range(256)) + b'{"a":1}'
    dump = html.hexdump(data)
    assert parse_hexdump(dump) == data
    assert dump.splitlines()[-1] == f'0100  7b 22 61 22 3a 31 7d{" " * 28}  |{{"a":1}}|'
    assert dump.splitlines()[2].endswith("| !\"#$%&'()*+,-./|")


def test_every_vector_and_requirement_has_one_anchor(results: Results, parsed: _Page, corpus: Corpus) -> None:
    vectors = {r.vector for r in results.results}
    assert set(parsed.rows) == vectors
    assert len(parsed.ids) == len(set(parsed.ids))
    cited = {r for v in vectors for r in corpus.get(v).requirements}
    assert cited <= set(parsed.ids)
    assert {"HEADER-UNIQUE-NAMES", "BUFFER-NO-OVERLAP", "LAYOUT-LENGTH-PREFIX"} <= cited
    assert parsed.rows["duplicates/name-escaped"] == list(corpus.get("duplicates/name-escaped").requirements)


def test_page_loads_nothing_and_needs_no_script_to_show_everything(parsed: _Page) -> None:
    assert parsed.loads == []
    assert parsed.filters_hidden  # the script shows the filter bar; without it every row shows
    spec_links = {link["href"] for link in parsed.links if str(link.get("href")).startswith("spec.html#")}
    assert "spec.html#header-unique-names" in spec_links


def test_small_files_show_their_bytes_and_large_ones_do_not(results: Results, parsed: _Page, corpus: Corpus) -> None:
    shown = 0
    for vector_id in parsed.rows:
        vector = corpus.get(vector_id)
        if vector.file is not None and 0 < vector.size <= html.HEX_LIMIT:
            assert parse_hexdump(parsed.hex[vector_id]) == (corpus.root / vector.file).read_bytes(), vector_id
            shown += 1
        else:
            assert vector_id not in parsed.hex, vector_id
    assert shown > 50
    assert "framing/header-60000" in parsed.rows  # a large file
    assert "framing/header-over-limit" in parsed.rows  # a recipe, made when run


def test_failures_summary_links_each_failing_requirement(results: Results, parsed: _Page, corpus: Corpus) -> None:
    filters = [parse_qs(str(link["data-filter"])) for link in parsed.links if link.get("data-filter")]
    chips = {f["req"][0] for f in filters if f["impl"] == ["safetensors"] and "req" in f}
    expected = {r for v in failing(results, "safetensors") for r in corpus.get(v).requirements}
    assert chips == expected
    assert "HEADER-UNIQUE-NAMES" in chips
    assert not [f for f in filters if f["impl"] == ["reference"]]  # the reference fails nothing


def test_renders_without_the_corpus(results: Results) -> None:
    page = _Page()
    page.feed(html.render(results, None))
    assert set(page.rows) == {r.vector for r in results.results}
    assert {"duplicates", "buffer", "framing"} <= set(page.ids)  # sections by group
    assert page.hex == {}


# In Chromium.


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, page_path: Path) -> Iterator[Page]:
    tab = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(page_path.as_uri(), wait_until="load")
    tab.wait_for_selector("body[data-ready]")
    yield tab
    tab.close()
    assert errors == []


def visible(page: Page) -> set[str]:
    """The vector rows shown (not hidden by a filter, nor inside a hidden section)."""
    script = "[...document.querySelectorAll('tr.vec')].filter(r => r.checkVisibility()).map(r => r.id)"
    return set(page.evaluate(script))


def state(page: Page) -> dict[str, list[str]]:
    return parse_qs(page.evaluate("location.hash.slice(1)"))


def test_search_box_filters_vector_ids_and_the_hash_keeps_it(page: Page, results: Results) -> None:
    every = {r.vector for r in results.results}
    assert visible(page) == every
    assert page.is_visible("#filters")
    page.fill("#q", "overlap")
    assert visible(page) == {v for v in every if "overlap" in v}
    assert len(visible(page)) >= 5
    assert state(page) == {"q": ["overlap"]}
    assert page.text_content("#shown") == f"{len(visible(page))} of {len(every)} vectors shown"
    page.fill("#q", "NAME-ESCAPED")  # case does not matter
    assert visible(page) == {"duplicates/name-escaped", "duplicates/name-escaped-slash"}


def test_implementation_and_verdict_filters_show_its_failures(page: Page, results: Results) -> None:
    page.select_option("#impl", "safetensors")
    page.select_option("#verdict", "failed")
    assert visible(page) == failing(results, "safetensors")
    assert visible(page) >= {"duplicates/name-last-covers-buffer", "duplicates/name-escaped"}
    columns = page.evaluate("[...document.querySelectorAll('.head th')].filter(c => c.checkVisibility()).length")
    assert columns == 2  # the vector column and safetensors'
    assert state(page) == {"impl": ["safetensors"], "verdict": ["failed"]}
    page.select_option("#req", "HEADER-UNIQUE-NAMES")
    assert visible(page) == {v for v in failing(results, "safetensors") if v.startswith("duplicates/name")}
    page.select_option("#impl", "reference")
    assert visible(page) == set()
    page.click("#filters button[name=clear]")
    assert visible(page) == {r.vector for r in results.results}
    assert state(page) == {}


def test_requirement_filter_shows_every_vector_citing_it(page: Page, results: Results, corpus: Corpus) -> None:
    sections = "[...document.querySelectorAll('#matrix section')].filter(s => s.checkVisibility()).map(s => s.id)"
    every = set(page.evaluate(sections))
    assert "DATA-ENCODING" in every  # shown with no filter, though no row is filed under it
    page.select_option("#req", "DATA-ENCODING")
    citing = {r.vector for r in results.results if "DATA-ENCODING" in corpus.get(r.vector).requirements}
    assert len(citing) > 10
    assert visible(page) == citing
    assert "DATA-ENCODING" in page.evaluate(sections)
    assert page.evaluate("document.querySelectorAll('#DATA-ENCODING tr.vec').length") == 0


def test_verdict_filter_alone_looks_at_every_implementation(page: Page, results: Results) -> None:
    page.select_option("#verdict", "pass")
    passing = {r.vector for r in results.results if r.verdict.value == "pass"}
    assert visible(page) == passing
    page.select_option("#verdict", "fail-accepted-invalid")
    assert visible(page) == {r.vector for r in results.results if r.verdict.value == "fail-accepted-invalid"}


def test_a_shared_link_opens_the_filtered_view(page: Page, page_path: Path, results: Results) -> None:
    page.goto(f"{page_path.as_uri()}#impl=safetensors&verdict=failed&q=metadata", wait_until="load")
    page.wait_for_selector("body[data-ready]")
    assert visible(page) == {v for v in failing(results, "safetensors") if "metadata" in v}
    assert page.input_value("#impl") == "safetensors"
    assert page.input_value("#q") == "metadata"


def test_summary_link_filters_to_that_requirement(page: Page, results: Results, corpus: Corpus) -> None:
    page.click('table.failing a.f[href*="req=HEADER-UNIQUE-NAMES"]')
    page.wait_for_function("location.hash.indexOf('req=') > 0")
    expected = {v for v in failing(results, "safetensors") if "HEADER-UNIQUE-NAMES" in corpus.get(v).requirements}
    assert visible(page) == expected
    count = page.text_content('table.failing a.f[href*="req=HEADER-UNIQUE-NAMES"]')
    assert count is not None
    assert count.endswith(f"\xa0{len(expected)}")


def test_an_anchor_clears_filters_that_hide_it_and_opens_the_vector(page: Page, page_path: Path) -> None:
    page.fill("#q", "overlap")
    page.goto(f"{page_path.as_uri()}#duplicates/name-escaped", wait_until="load")
    page.wait_for_function("document.getElementById('duplicates/name-escaped').checkVisibility()")
    assert page.input_value("#q") == ""
    row = page.locator('[id="duplicates/name-escaped"]')
    assert row.locator("details").get_attribute("open") is not None
    assert row.locator("pre.hex").is_visible()
    # The row sits just below the sticky filter bar and column headers, not under them.
    place = "e => [e.getBoundingClientRect().top, parseFloat(getComputedStyle(e).scrollMarginTop)]"
    top, margin = row.evaluate(place)
    assert margin > 100
    assert abs(top - margin) <= 3
    page.goto(f"{page_path.as_uri()}#HEADER-UNIQUE-NAMES", wait_until="load")
    assert page.locator('section[id="HEADER-UNIQUE-NAMES"]').is_visible()


def test_hex_dump_in_the_browser_is_the_file(page: Page, corpus: Corpus) -> None:
    vector = corpus.get("buffer/overlap-tied")
    page.click('[id="buffer/overlap-tied"] summary')
    text = page.text_content('[id="buffer/overlap-tied"] pre.hex')
    assert text is not None
    assert vector.file is not None
    assert parse_hexdump(text) == (corpus.root / vector.file).read_bytes()


def test_without_scripts_every_row_and_no_filter_shows(browser: Browser, page_path: Path, results: Results) -> None:
    context = browser.new_context(java_script_enabled=False)
    plain = context.new_page()
    plain.goto(page_path.as_uri(), wait_until="load")
    assert plain.locator("tr.vec:visible").count() == len({r.vector for r in results.results})
    assert not plain.is_visible("#filters")
    context.close()


@pytest.fixture(scope="module")
def published() -> Results:
    return Results.read(Path(__file__).resolve().parent.parent / "results" / "results.json")


@pytest.fixture(scope="module")
def published_path(published: Results, corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("published") / "results.html"
    path.write_text(html.render(published, corpus), encoding="utf-8")
    return path


def test_published_matrix_filters_each_implementation_to_its_failures(
    browser: Browser, published: Results, published_path: Path
) -> None:
    """At full size (results/results.json): each implementation's failure count in the summary is
    the number of rows its link shows."""
    path = published_path
    tab = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(path.as_uri(), wait_until="load")
    tab.wait_for_selector("body[data-ready]")
    assert tab.get_attribute("body", "data-shown") == str(len({r.vector for r in published.results}))
    summary = tab.evaluate(
        """[...document.querySelectorAll("table.failing tr")].slice(1).map(row => [row.cells[0].textContent,
             row.cells[1].textContent, (row.cells[1].querySelector("a") || {dataset: {}}).dataset.filter || ""])"""
    )
    assert [name for name, _, _ in summary] == list(published.implementations)
    checked = 0
    for name, count, state in summary:
        expected = failing(published, name)
        if not published.implementations[name].available:
            continue
        assert count == str(len(expected)), name
        if not expected:
            continue
        tab.evaluate("state => { location.hash = state; }", state)
        tab.wait_for_function("n => document.body.dataset.shown === String(n)", arg=len(expected))
        assert visible(tab) == expected, name
        checked += 1
    assert checked >= 10
    tab.close()
    assert errors == []


def test_published_matrix_jumps_to_a_vector_a_filter_had_hidden(browser: Browser, published_path: Path) -> None:
    """Sections are laid out only on screen; one a filter hid has no height remembered. The jump
    must still put the vector's row, not whatever the estimate lands on, below the headers."""
    tab = browser.new_page(viewport={"width": 1400, "height": 900})
    tab.goto(f"{published_path.as_uri()}#impl=safetensors&verdict=failed", wait_until="load")
    tab.wait_for_selector("body[data-ready]")
    tab.evaluate("() => { location.hash = 'verdict=flagged&q=depth'; }")
    for vector_id in ("dtypes/every-dtype", "scale/name-20000", "examples/minimal"):
        tab.evaluate("id => { location.hash = id; }", vector_id)
        tab.wait_for_function("id => document.getElementById(id).checkVisibility()", arg=vector_id)
        tab.wait_for_timeout(200)
        hit = """id => { const row = document.getElementById(id), top = row.getBoundingClientRect().top;
                   return [top, row.contains(document.elementFromPoint(300, top + 10))]; }"""
        top, inside = tab.evaluate(hit, vector_id)
        assert 100 < top < 400, vector_id
        assert inside, vector_id  # what is painted there is that row
        tab.evaluate("() => { location.hash = 'verdict=flagged&q=depth'; }")
    tab.close()
