"""The dashboard in headless Chromium against a live ``stratforge serve``: what a user does
with a mouse and keyboard, checked end to end. Screenshots land in each test's tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser_helpers import RENDERED, watch
from tests.server_helpers import free_port, server

pytestmark = pytest.mark.slow
JOB_SECONDS = 90_000  # milliseconds a small job may take on a busy 2-core machine
PLUGIN_ROWS = "#plugin-list .table-wrap > table > tbody > tr"


@pytest.fixture
def page(browser: Any, base: str) -> Iterator[Any]:
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.errors = watch(page, base)
    yield page
    page.close()


def param(page: Any, loc: str) -> Any:
    return page.locator(f'[data-loc="{loc}"] input, [data-loc="{loc}"] select').first


def test_backtest_from_the_form_to_its_report(page: Any, base: str, tmp_path: Path) -> None:
    page.goto(f"{base}/new/backtest")
    param(page, "strategy.params.fast").fill("5")
    param(page, "strategy.params.slow").fill("20")
    param(page, "data.args.bars").fill("400")
    param(page, "sizer.name").select_option("percent")
    param(page, "sizer.params.percent").fill("50")
    page.locator('.component[data-name="drawdowns"] input[type=checkbox]').check()
    page.locator('.component[data-name="max_position"] input[type=checkbox]').check()
    param(page, "risk.0.params.max_size").fill("100000")  # numbered once checked
    preview = page.locator("#spec-preview").text_content()
    assert '"percent": 50' in preview and '"max_size": 100000' in preview
    page.get_by_role("button", name="Run backtest").click()
    page.locator("#job-panel").wait_for()
    page.locator("#job-status.completed").wait_for(timeout=JOB_SECONDS)
    assert page.locator("#job-progress").evaluate("p => p.value") == 1
    page.screenshot(path=str(tmp_path / "form-completed.png"), full_page=True)
    page.locator("#job-link").click()
    page.wait_for_function(RENDERED, timeout=30_000)
    page.locator("#tables table").wait_for()
    assert page.locator("#cards .card").count() >= 8
    assert page.locator("#cards .card", has_text="Sharpe").count() == 1
    assert page.locator("#report canvas").count() >= 3  # price, equity, drawdown at least
    assert page.locator("#tables tbody tr").count() > 0
    spec = httpx.get(f"{base}/api/v1/backtests/{page.url.rsplit('/', 1)[1]}").json()["spec"]
    assert spec["strategy"]["params"] == {"fast": 5, "slow": 20}
    assert spec["sizer"] == {"name": "percent", "params": {"percent": 50}}
    assert [a["name"] for a in spec["analyzers"]] == ["drawdowns"]
    assert spec["risk"] == [{"name": "max_position", "params": {"max_size": 100000}}]
    with page.expect_download() as download:
        page.get_by_role("button", name="Download trades CSV").click()
    saved = tmp_path / "trades.csv"
    download.value.save_as(saved)
    assert saved.read_text().startswith("ref,data,contract,direction")
    page.screenshot(path=str(tmp_path / "run-page.png"), full_page=True)
    assert page.errors == []


def test_api_errors_show_next_to_their_fields(page: Any, base: str, tmp_path: Path) -> None:
    page.goto(f"{base}/new/backtest")
    param(page, "cash").fill("-5")
    page.get_by_role("button", name="Run backtest").click()
    error = page.locator('[data-loc="cash"] .error')
    error.wait_for()
    assert "greater than 0" in error.text_content()
    assert "rejected" in page.locator("#form-errors").text_content()
    assert page.evaluate("document.activeElement.id") == "cash"  # focus moves to the field
    # Checked in the browser first: a JSON field holding no JSON never reaches the server.
    param(page, "cash").fill("100000")
    page.locator('.component[data-name="max_position"] input[type=checkbox]').check()
    param(page, "risk.0.params.limits").fill("ES: 2")
    page.get_by_role("button", name="Run backtest").click()
    assert "JSON object" in page.locator('[data-loc="risk.0.params.limits"] .error').text_content()
    assert page.locator('[data-loc="cash"] .error').text_content() == ""  # fixed, so cleared
    page.screenshot(path=str(tmp_path / "form-errors.png"), full_page=True)
    # Chromium logs every 4xx answer; the 422 is the one this test asked for.
    assert [e for e in page.errors if "status of 422" not in e] == []


def test_futures_chain_backtest(page: Any, base: str) -> None:
    page.goto(f"{base}/new/backtest")
    param(page, "data.args.bars").fill("300")
    page.get_by_label("Futures chain").check()
    param(page, "data.root").select_option("CL")
    param(page, "data.roll.name").select_option("days_before_expiry")
    param(page, "data.roll.params.days").fill("3")
    param(page, "data.adjust").select_option("ratio")
    page.get_by_role("button", name="Run backtest").click()
    page.locator("#job-status.completed").wait_for(timeout=JOB_SECONDS)
    job_id = page.locator("#job-link").get_attribute("href").rsplit("/", 1)[1]
    data = httpx.get(f"{base}/api/v1/backtests/{job_id}").json()["spec"]["data"]
    assert data["root"] == "CL" and data["adjust"] == "ratio"
    assert data["roll"] == {"name": "days_before_expiry", "params": {"days": 3}}
    assert page.errors == []


def test_upload_bad_csv_shows_rows_then_good_one_by_drop(
    page: Any, base: str, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "datetime,open,high,low,close,volume\n"
        "2024-01-02,10,11,9,10.5,100\n"
        "2024-01-03,10,9,11,10.5,100\n"  # high below low
        "2024-01-04,10,11,9,abc,100\n"
    )
    page.goto(f"{base}/datasets")
    page.locator("#file").set_input_files(str(bad))
    page.get_by_role("button", name="Upload").click()
    page.locator("#upload-problems table").wait_for()
    rows = page.locator("#upload-problems tbody tr").all_inner_texts()
    assert any(r.startswith("2\t") or r.startswith("3\t") for r in rows), rows
    assert page.locator("#upload-result").get_attribute("class") == "notice error"
    page.screenshot(path=str(tmp_path / "upload-errors.png"), full_page=True)
    page.errors.remove(next(e for e in page.errors if "status of 422" in e))  # asked for
    good = "datetime,open,high,low,close,volume\n" + "".join(
        f"2024-02-{d:02d},10,11,9,10.{d},100\n" for d in range(1, 29)
    )
    page.evaluate(
        """(text) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([text], "good.csv", {type: "text/csv"}));
            document.getElementById("dropzone").dispatchEvent(
                new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }""",
        good,
    )
    assert "good.csv" in page.locator("#file-name").text_content()
    page.get_by_role("button", name="Upload").click()
    page.locator("#upload-result.ok").wait_for()
    assert page.locator("#upload-problems").inner_text() == ""
    row = page.locator("#datasets tbody tr", has_text="good")
    assert row.locator("td").nth(2).inner_text() == "28"
    row.get_by_role("button", name="Delete good").click()
    page.get_by_role("button", name="Delete", exact=True).click()  # the confirmation
    row.wait_for(state="detached")
    assert httpx.get(f"{base}/api/v1/datasets").json() == []
    assert page.errors == []


def test_small_optimisation_shows_its_heatmap(page: Any, base: str, tmp_path: Path) -> None:
    page.goto(f"{base}/new/optimization")
    param(page, "data.args.bars").fill("300")
    for name, (start, stop, step) in {"fast": (5, 10, 5), "slow": (20, 40, 20)}.items():
        page.locator(f"#dim-{name}").select_option("range")
        for label, value in (("start", start), ("stop", stop), ("step", step)):
            page.get_by_label(f"{name} {label}").fill(str(value))
    page.get_by_label("fast start").fill("")
    page.get_by_role("button", name="Run optimisation").click()  # checked before sending
    assert "start and stop" in page.locator('[data-loc="space.fast"] > .error').text_content()
    page.get_by_label("fast start").fill("5")
    page.get_by_label("Constraints").fill("fast < sloww")
    page.get_by_role("button", name="Run optimisation").click()
    page.locator('[data-loc="constraints"] .error').wait_for()
    assert "slow" in page.locator('[data-loc="constraints"] .error').text_content()  # did you mean
    page.errors.remove(next(e for e in page.errors if "status of 422" in e))  # asked for
    page.get_by_label("Constraints").fill("fast < slow")
    page.get_by_role("button", name="Run optimisation").click()
    page.locator("#job-status.completed").wait_for(timeout=JOB_SECONDS)
    assert "4 trials" in page.locator("#job-message").text_content()
    page.locator("#job-link").click()
    page.wait_for_function(RENDERED, timeout=30_000)
    cells = page.evaluate(
        "() => Bokeh.documents[0].get_model_by_name('cells').data_source.data.value.length"
    )
    assert cells == 4
    assert page.locator("#tables tbody tr").count() == 4  # the trials table
    page.screenshot(path=str(tmp_path / "optimisation.png"), full_page=True)
    assert page.errors == []


def test_runs_table_updates_live_and_deletes(page: Any, base: str, tmp_path: Path) -> None:
    page.goto(base + "/")
    page.locator("#live-state", has_text="live").wait_for()
    body = {"strategy": {"name": "sma_cross"}, "data": {"args": {"bars": 300}}}
    job = httpx.post(f"{base}/api/v1/backtests", json=body).json()
    row = page.locator(f"#row-{job['id']}")
    row.wait_for(timeout=10_000)  # appears without a reload
    page.locator(f"#row-{job['id']}[data-status=completed]").wait_for(timeout=JOB_SECONDS)
    assert "sma_cross" in row.inner_text() and "synthetic 300 bars" in row.inner_text()
    page.locator("#filter-status").select_option("failed")
    row.wait_for(state="detached")
    page.locator("#filter-status").select_option("")
    row.wait_for()
    page.screenshot(path=str(tmp_path / "runs.png"), full_page=True)
    row.get_by_role("button", name=f"Delete {job['id']}").click()
    page.get_by_role("button", name="Keep it").click()  # changing one's mind keeps it
    assert row.is_visible()
    other = httpx.post(f"{base}/api/v1/backtests", json=body | {"seed": 1}).json()
    page.locator(f"#row-{other['id']}[data-status=completed]").wait_for(timeout=JOB_SECONDS)
    row.get_by_role("button", name=f"Delete {job['id']}").click()
    page.get_by_role("button", name="Delete", exact=True).click()
    row.wait_for(state="detached")
    assert httpx.get(f"{base}/api/v1/backtests/{job['id']}").status_code == 404
    # Escape on the next question keeps the run: the last "confirm" is never reused.
    page.get_by_role("button", name=f"Delete {other['id']}").click()
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    assert httpx.get(f"{base}/api/v1/backtests/{other['id']}").status_code == 200
    assert page.errors == []


def test_every_page_is_labelled_and_keyboard_reachable(page: Any, base: str) -> None:
    pages = ("/", "/new/backtest", "/new/optimization", "/datasets", "/markets", "/plugins")
    for path in (*pages, "/contracts"):
        page.goto(base + path)
        page.locator("body[data-ready]").wait_for()
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll("input, select, textarea")]
                .filter(e => !e.closest("dialog"))
                .filter(e => !(e.labels && e.labels.length) && !e.getAttribute("aria-label"))
                .map(e => e.outerHTML)"""
        )
        assert unlabelled == [], (path, unlabelled)
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.goto(f"{base}/plugins")
    page.locator("body[data-ready]").wait_for()  # the list is in (the page loads it after)
    page.get_by_label("Search").fill("turtle")
    rows = page.locator(PLUGIN_ROWS).all_inner_texts()
    assert rows and all("turtle" in row.lower() for row in rows)
    assert any(row.startswith("turtle") for row in rows)
    page.goto(f"{base}/contracts")
    es = page.locator("#contracts tbody tr").filter(has=page.get_by_text("ES", exact=True))
    assert es.locator("td").nth(4).inner_text() == "50"  # the multiplier
    assert page.errors == []


def test_a_plugin_search_typed_before_the_list_arrives_applies(page: Any, base: str) -> None:
    # The page fetches /api/v1/plugins after it loads: hold that answer back, type, then let
    # it through. Until it arrives there is nothing to read (a test that reads the rows
    # straight after typing sees none); once it has, only matching rows are shown.
    held: list[Any] = []

    def hold(route: Any) -> None:
        held.append(route)

    page.route("**/api/v1/plugins", hold)
    with page.expect_request("**/api/v1/plugins"):
        page.goto(f"{base}/plugins")
    page.get_by_label("Search").fill("turtle")
    assert held and page.locator(PLUGIN_ROWS).count() == 0
    assert page.locator("body[data-ready]").count() == 0
    held[0].continue_()
    page.locator("body[data-ready]").wait_for()
    rows = page.locator(PLUGIN_ROWS).all_inner_texts()
    assert rows and all("turtle" in row.lower() for row in rows)
    assert page.errors == []


def test_api_key_and_phone_width(browser: Any, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with server(tmp_path / "data", port, STRATFORGE_API_KEY="s3cret"):
        page = browser.new_page(viewport={"width": 390, "height": 844})
        errors = watch(page, base)
        page.goto(base + "/")
        page.locator("#key-dialog[open]").wait_for()
        page.locator("#key-input").fill("s3cret")
        page.locator("#key-input").press("Enter")  # Enter saves (never "Forget key")
        page.locator("#runs-count", has_text="0 of 0").wait_for()
        page.locator("#live-state", has_text="live").wait_for()
        width = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert width[0] <= width[1]  # nothing wider than the phone: tables scroll inside
        page.screenshot(path=str(tmp_path / "phone-runs.png"), full_page=True)
        page.goto(f"{base}/new/backtest")
        page.get_by_role("button", name="Run backtest").click()  # enabled once the form is wired
        page.locator("#job-status.completed").wait_for(timeout=JOB_SECONDS)
        page.screenshot(path=str(tmp_path / "phone-form.png"), full_page=True)
        # 401s (the first page load, before the key) are the server's answers, not errors.
        assert [e for e in errors if "401" not in e] == []
        page.close()


def test_walk_forward_from_the_form(page: Any, base: str, tmp_path: Path) -> None:
    page.goto(f"{base}/new/optimization")
    param(page, "data.args.bars").fill("900")
    page.locator("#dim-fast").select_option("choice")
    page.get_by_label("fast choices").fill("5, 10")
    page.get_by_label("Walk-forward", exact=False).check()
    page.locator("#wf-train").fill("300")
    page.locator("#wf-test").fill("150")
    page.get_by_role("button", name="Run optimisation").click()
    page.locator("#job-status.completed").wait_for(timeout=JOB_SECONDS)
    page.locator("#job-link").click()
    page.wait_for_function(RENDERED, timeout=30_000)
    assert "/runs/walkforwards/" in page.url
    tabs = page.locator("#report .bk-tab").all_inner_texts()
    assert {"Windows", "Parameters", "Summary"} <= set(tabs)
    job = httpx.get(f"{base}/api/v1/walkforwards/{page.url.rsplit('/', 1)[1]}").json()
    assert (job["spec"]["train"], job["spec"]["test"]) == (300, 150)
    page.screenshot(path=str(tmp_path / "walk-forward.png"), full_page=True)
    assert page.errors == []


def test_compare_two_backtests_from_the_runs_table(page: Any, base: str, tmp_path: Path) -> None:
    ids = []
    for fast in (5, 15):
        body = {
            "strategy": {"name": "sma_cross", "params": {"fast": fast}},
            "data": {"args": {"bars": 300}},
        }
        ids.append(httpx.post(f"{base}/api/v1/backtests", json=body).json()["id"])
    page.goto(base + "/")
    for job_id in ids:
        page.locator(f"#row-{job_id}[data-status=completed]").wait_for(timeout=JOB_SECONDS)
        page.get_by_label(f"Compare {job_id}").check()
    page.get_by_role("button", name="Compare selected (2)").click()
    page.wait_for_function(RENDERED, timeout=30_000)
    assert page.locator("#summary tbody tr").count() == 2
    assert page.locator("#report canvas").count() >= 2  # growth and drawdown
    page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)
    assert page.errors == []


@pytest.fixture(scope="module")
def catalog_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live server whose market catalog holds ES and NQ, imported from small CSVs."""
    from sqlmodel import Session

    from stratforge.core.plugins import Plugins
    from stratforge.core.settings import Settings
    from stratforge.jobs.markets import import_market
    from stratforge.store.db import make_engine, migrate
    from tests.test_market_catalog import ES_MONTHS, NQ_MONTHS, write_contracts

    folder = tmp_path_factory.mktemp("markets")
    settings = Settings(data_dir=folder / "data")
    engine = make_engine(settings)
    migrate(engine)
    plugins = Plugins.load(settings)
    with Session(engine, expire_on_commit=False) as session:
        for root, months, price in (("ES", ES_MONTHS, 4800.0), ("NQ", NQ_MONTHS, 16000.0)):
            paths = [write_contracts(folder / root.lower(), months, price)]
            import_market(session, plugins=plugins, source="contracts_dir", root=root, paths=paths)
    engine.dispose()
    port = free_port()
    with server(settings.data_dir, port):
        yield f"http://127.0.0.1:{port}"


def test_portfolio_of_catalog_markets_from_the_markets_page(
    browser: Any, catalog_base: str, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors = watch(page, catalog_base)
    page.goto(f"{catalog_base}/markets")
    es = page.locator("#market-ES")
    es.wait_for()
    assert "ESH2024" in es.inner_text() and "2023-11-20" in es.inner_text()
    assert "contracts_dir" in es.inner_text()
    assert page.locator("#market-NQ").count() == 1
    assert page.locator("#markets-empty").is_hidden()
    page.screenshot(path=str(tmp_path / "markets.png"), full_page=True)
    page.get_by_role("link", name="Backtest ES").click()
    page.locator("body[data-ready]").wait_for()
    assert "source=catalog&root=ES" in page.url
    assert param(page, "data.source").input_value() == "catalog"
    assert param(page, "data.root").input_value() == "ES"
    assert page.locator("#data-futures").is_checked()
    assert "2023-11-20 to 2024-06-21" in page.locator('[data-loc="data.root"] .hint').inner_text()
    assert param(page, "data.root").locator("option").all_inner_texts()[1].startswith("NQ")
    param(page, "data.roll.name").select_option("days_before_expiry")
    page.get_by_role("button", name="Add market").click()
    # Two feeds now: each field is labelled with its place in the list.
    assert param(page, "data.0.root").input_value() == "ES"
    assert param(page, "data.1.source").input_value() == "catalog"
    assert param(page, "data.1.root").input_value() == "NQ"
    param(page, "data.1.roll.name").select_option("days_before_expiry")
    preview = page.locator("#spec-preview").text_content()
    assert '"root": "NQ"' in preview and preview.count('"source": "catalog"') == 2
    # A server error about the second feed lands next to the second feed's field.
    param(page, "data.1.start").fill("2024-05-01")
    param(page, "data.1.end").fill("2024-01-01")
    page.get_by_role("button", name="Run backtest").click()
    error = page.locator('[data-loc="data.1.end"] .error')
    error.wait_for()
    assert "before start" in error.text_content()
    assert page.locator('[data-loc="data.0.end"] .error').text_content() == ""
    param(page, "data.1.start").fill("")
    param(page, "data.1.end").fill("")
    page.get_by_role("button", name="Run backtest").click()
    page.locator("#job-status.completed").wait_for(timeout=JOB_SECONDS)
    page.screenshot(path=str(tmp_path / "portfolio-form.png"), full_page=True)
    job_id = page.locator("#job-link").get_attribute("href").rsplit("/", 1)[1]
    job = httpx.get(f"{catalog_base}/api/v1/backtests/{job_id}").json()
    data = job["spec"]["data"]
    assert [(d["source"], d["root"]) for d in data] == [("catalog", "ES"), ("catalog", "NQ")]
    result = httpx.get(f"{catalog_base}/api/v1/backtests/{job_id}/result").json()
    assert len(result["spec"]["data"]) == 2
    # Removing a market goes back to one feed, sent as an object.
    page.get_by_role("button", name="Remove Market 1 of 2").click()
    assert param(page, "data.root").input_value() == "NQ"
    assert '"data": {' in page.locator("#spec-preview").text_content()
    # The optimisation form reads the same query parameters.
    page.goto(f"{catalog_base}/new/optimization?source=catalog&root=NQ")
    page.locator("body[data-ready]").wait_for()
    assert param(page, "data.root").input_value() == "NQ"
    assert "NQH2024" in page.locator('[data-loc="data.root"] .hint').inner_text()
    page.get_by_role("button", name="Add market").click()
    assert param(page, "data.1.root").input_value() == "ES"  # the catalog's next root
    assert [e for e in errors if "status of 422" not in e] == []
    page.close()


def test_empty_catalog_says_how_to_import(page: Any, base: str) -> None:
    page.goto(f"{base}/markets")
    page.locator("body[data-ready]").wait_for()
    notice = page.locator("#markets-empty")
    assert notice.is_visible()
    assert "stratforge data import --format <lean|pysystemtrade|databento|contracts_dir>" in (
        notice.inner_text()
    )
    assert "empty" in page.locator("#markets tbody").inner_text()
    assert page.errors == []


def test_foreign_contract_gets_an_fx_rate_field(page: Any, base: str) -> None:
    page.goto(f"{base}/new/backtest")
    param(page, "data.args.bars").fill("300")
    page.get_by_label("Futures chain").check()
    assert page.locator('[data-loc="fx_rates.EUR"]').count() == 0  # ES: in the account's USD
    param(page, "data.root").select_option("FESX")
    fx = page.locator('[data-loc="fx_rates.EUR"]')
    fx.wait_for()
    assert param(page, "fx_rates.EUR.source").input_value() == "synthetic"
    assert param(page, "fx_rates.EUR.args.price").input_value() == "1.1"
    page.get_by_role("button", name="Add market").click()
    param(page, "data.1.args.bars").fill("300")
    page.get_by_role("button", name="Run backtest").click()
    page.locator("#job-status.completed").wait_for(timeout=JOB_SECONDS)
    job_id = page.locator("#job-link").get_attribute("href").rsplit("/", 1)[1]
    spec = httpx.get(f"{base}/api/v1/backtests/{job_id}").json()["spec"]
    assert [d.get("root") for d in spec["data"]] == ["FESX", None]
    assert spec["fx_rates"]["EUR"]["source"] == "synthetic"
    assert spec["fx_rates"]["EUR"]["args"]["price"] == 1.1
    # An account in EUR needs no EUR rate.
    page.locator("#currency").fill("EUR")
    page.locator("#currency").dispatch_event("input")
    assert fx.is_hidden() or page.locator('[data-loc="fx_rates.EUR"]').count() == 0
    assert page.errors == []
