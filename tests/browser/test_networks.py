"""The networks page in a real browser: catalogues and previews, a streamed training run
with early stopping, the decision boundary and its replay, the landscape against the
server's report, comparing runs, and the server's messages for bad input."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.browser.conftest import VIEWPORT, Lab, api_get, api_post, offline_context, one_run_queued

SMALL = "?n=200&hidden=16&epochs=15&res=15"  # a run that takes well under a second
PERCENT_TICKS = ["0%", "25%", "50%", "75%", "100%"]


def open_page(lab: Lab, query: str = "") -> None:
    """The networks page with its catalogues loaded and the data preview in the store."""
    lab.page.goto(f"{lab.server}/networks.html{query}")
    lab.page.wait_for_function("window.networks && window.networks.ready === true", timeout=20_000)
    lab.page.wait_for_function(
        "() => { const p = window.networks.state.runtime.preview; return p && (p.data || p.error); }",
        timeout=20_000,
    )
    frame(lab)


def frame(lab: Lab) -> None:
    """Let the page draw what is pending (two animation frames)."""
    lab.page.evaluate("() => window.networks.nextFrame().then(() => window.networks.nextFrame())")


def train(lab: Lab, timeout: float = 60_000) -> dict[str, Any]:
    """Press Train, wait until the run ended (and its landscape report, if it asked for one)
    is in the store and drawn; the run as the server stores it."""
    before = lab.page.evaluate("() => (window.networks.state.runtime.run || {}).id || null")
    lab.page.click("#train-btn")
    lab.page.wait_for_function(
        """(before) => { const r = window.networks.state.runtime.run;
            return r && r.id !== before && r.summary && (!r.body.landscape || r.report || r.error); }""",
        arg=before,
        timeout=timeout,
    )
    frame(lab)
    run_id = lab.page.evaluate("window.networks.state.runtime.run.id")
    return dict(api_get(lab.server, f"/api/runs/{run_id}"))


def plot(lab: Lab, plot_id: str) -> list[dict[str, Any]]:
    """The traces Plotly holds in graph `plot_id` (arrays as lists)."""
    return list(
        lab.page.evaluate(
            """(id) => (document.getElementById(id).data || []).map((t) => JSON.parse(JSON.stringify({
                 name: t.name || null, type: t.type, x: t.x || null, y: t.y || null, z: t.z || null,
                 customdata: t.customdata || null, text: t.text || null})))""",
            plot_id,
        )
    )


def right_ticks(lab: Lab, plot_id: str) -> list[tuple[float, str]]:
    """Graph `plot_id`'s right-hand axis (y2), bottom to top: each tick's value where Plotly drew
    it, and its label."""
    lab.page.wait_for_function("(id) => (document.getElementById(id)._fullLayout.yaxis2._vals || []).length",
                               arg=plot_id)
    ticks = lab.page.evaluate("""(id) => { const axis = document.getElementById(id)._fullLayout.yaxis2;
        return axis._vals.map((v) => [axis.type === "log" ? 10 ** v.x : v.x, v.text]); }""", plot_id)
    return [(value, text) for value, text in ticks]


def label_value(text: str) -> float:
    """The number a tick label shows: 0.2, 1, 10<sup>−2</sup>, 45%."""
    power = re.fullmatch(r"10<sup>(−?\d+)</sup>", text)
    if power:
        return 10.0 ** int(power[1].replace("−", "-"))
    if text.endswith("%"):
        return float(text[:-1]) / 100
    return float(text.replace("−", "-"))


def labelled_truly(ticks: list[tuple[float, str]]) -> bool:
    """Each label is the value at its tick, not a rounding of it (as on an axis whose ticks sit
    at another axis's heights)."""
    return all(math.isclose(value, label_value(text), rel_tol=1e-9, abs_tol=1e-12) for value, text in ticks)


def cells(trace: dict[str, Any], k: int) -> list[list[Any]]:
    """Value k of every cell of a landscape trace's customdata: 0 the loss, 1 the accuracy."""
    return [[cell[k] for cell in row] for row in trace["customdata"]]


def set_input(lab: Lab, selector: str, value: str) -> None:
    lab.page.fill(selector, value)
    lab.page.dispatch_event(selector, "change")


def rejection(server: str, body: dict[str, Any]) -> str:
    """The server's 422 message for a run request (what the page must show)."""
    req = urllib.request.Request(
        f"{server}/api/runs", data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    try:
        urllib.request.urlopen(req, timeout=30)
    except urllib.error.HTTPError as error:
        assert error.code == 422
        return str(json.load(error)["detail"][0]["msg"]).removeprefix("Value error, ")
    raise AssertionError("the request was accepted")


def test_page_loads_offline_with_menus_from_the_api_and_previews(lab: Lab) -> None:
    open_page(lab, "?n=200")
    page = lab.page
    datasets = api_get(lab.server, "/api/datasets")
    models = api_get(lab.server, "/api/models")
    options = lambda sel: page.eval_on_selector_all(f"{sel} option", "els => els.map(e => e.value)")  # noqa: E731
    assert options('select[data-role="ds"]') == [d["id"] for d in datasets]
    assert options('select[data-role="opt"]') == [o["id"] for o in api_get(lab.server, "/api/optimizers")]
    assert options('select[data-role="sched"]') == [s["id"] for s in api_get(lab.server, "/api/schedules")]
    assert "plateau" in options('select[data-role="sched"]')
    moons = next(d for d in datasets if d["id"] == "moons")
    fits = [
        m["id"]
        for m in models
        if (m["datasets"] is None or "moons" in m["datasets"]) and m["task"] in ("either", moons["task"])
    ]
    assert options('select[data-role="model"]') == fits and "cnn" not in fits

    # The scatter holds every sample of the preview, one trace per split.
    preview = api_post(
        lab.server,
        "/api/datasets/preview",
        {"dataset": {"name": "moons", "n_samples": 200}, "split": {"val": 0.2, "test": 0.2}, "seed": 0},
    )
    traces = plot(lab, "data-plot")
    assert [t["name"] for t in traces] == ["train", "val", "test"]
    drawn = sorted((x, y) for t in traces for x, y in zip(t["x"], t["y"], strict=True))
    points = preview["points"]
    assert drawn == sorted(zip(points["x0"], points["x1"], strict=True))
    assert [len(t["x"]) for t in traces] == [preview["n_train"], preview["n_val"], preview["n_test"]]
    lab.shot("networks-01-moons-preview.png")

    # Digits: a gallery of the preview's images with their labels; only models that fit them.
    page.select_option('select[data-role="ds"]', "digits")
    page.wait_for_function("() => document.querySelectorAll('#gallery canvas').length > 0", timeout=20_000)
    digits = api_post(
        lab.server,
        "/api/datasets/preview",
        {"dataset": {"name": "digits"}, "split": {"val": 0.2, "test": 0.2}, "seed": 0},
    )
    labels = page.eval_on_selector_all("#gallery figcaption", "els => els.map(e => Number(e.textContent))")
    assert labels == [img["label"] for img in digits["images"]]
    assert page.is_hidden("#data-plot")
    assert "cnn" in options('select[data-role="model"]')
    page.wait_for_function("() => location.search.includes('ds=digits')")
    lab.shot("networks-02-digits-gallery.png")


def test_training_streams_curves_marks_early_stopping_and_reports_the_test_once(lab: Lab) -> None:
    open_page(lab, SMALL + "&ls=0&patience=2&o.lr=0.5&o.momentum=0.9")
    run = train(lab)
    summary = run["summary"]
    assert run["status"] == "early_stopped" and summary["stopped_early"] and summary["test_evaluations"] == 1
    traces = {t["name"]: t for t in plot(lab, "curves")}
    epochs = summary["epochs_run"] + 1  # epoch 0 is the initialisation
    assert traces["train"]["x"] == list(range(epochs)) and len(traces["train"]["y"]) == epochs
    assert len(traces["val"]["x"]) == epochs
    assert len(traces["batch loss"]["x"]) == summary["steps"]
    lr, grad = plot(lab, "lr-plot")
    assert lr["x"] == grad["x"] == list(range(1, summary["steps"] + 1))
    streamed = lab.page.evaluate("window.networks.state.runtime.run.steps.gradNorm")
    assert grad["y"] == streamed and len(streamed) == summary["steps"] and min(streamed) > 0
    # a constant lr is drawn below the frame, not on it; ‖∇L‖'s log axis has ticks of its own
    assert lab.page.evaluate("document.getElementById('lr-plot').layout.yaxis.range[1]") > max(lr["y"])
    grad_ticks = right_ticks(lab, "lr-plot")
    assert len(grad_ticks) >= 2 and labelled_truly(grad_ticks), grad_ticks
    accuracy_ticks = right_ticks(lab, "curves")
    assert [text for _, text in accuracy_ticks] == PERCENT_TICKS and labelled_truly(accuracy_ticks)
    shapes = lab.page.evaluate(
        "() => document.getElementById('curves').layout.shapes.map(s => ({name: s.name, x: s.x0}))"
    )
    assert {"name": "best", "x": summary["best_epoch"]} in shapes
    assert {"name": "stop", "x": summary["epochs_run"]} in shapes
    card = lab.page.inner_text('#summary [data-role="test-accuracy"]')
    assert card == f"{100 * summary['test_accuracy']:.1f}%"
    assert lab.page.inner_text('#summary [data-role="best-epoch"]') == str(summary["best_epoch"])
    assert lab.page.inner_text('#summary [data-role="status"]') == "stopped early"
    # 800 px high: the notes are folded, so the numbers need no scrolling; with room, they open
    notes = lab.page.locator('#summary [data-role="notes"]')
    overflow = "() => { const c = document.getElementById('summary'); return c.scrollHeight - c.clientHeight; }"
    assert not notes.evaluate("(n) => n.open") and lab.page.evaluate(overflow) == 0
    lab.page.set_viewport_size({"width": 1280, "height": 1100})
    lab.page.wait_for_function("document.querySelector('#summary [data-role=\"notes\"]').open")
    assert lab.page.evaluate(overflow) == 0 and "evaluated once, after training" in notes.inner_text()
    lab.page.set_viewport_size(VIEWPORT)
    lab.shot("networks-03-early-stopping.png")


def test_a_720_px_projector_keeps_the_curves_axes_and_the_survey_menu_readable(lab: Lab) -> None:
    """Projector type at 1280 × 720, in Russian (the longer words): the training curves' loss
    axis is labelled without labels on top of each other (1, 2, 5 a decade were), the accuracy
    axis's title is drawn whole ("точность (пунктир)" was cut), and the landscape's directions
    menu stays inside its column (it ran 17 px past it). The result card's numbers are read
    without scrolling (it scrolled 137 px): what they mean is folded under a line of its own,
    which opens when there is room."""
    lab.page.set_viewport_size({"width": 1280, "height": 720})
    open_page(lab, "?proj=1&lang=ru")
    train(lab)
    card = """() => { const c = document.getElementById('summary'), n = c.querySelector('[data-role="notes"]');
        return {overflow: c.scrollHeight - c.clientHeight, open: n.open, summary: n.querySelector('summary').textContent,
                notes: n.querySelectorAll('p').length}; }"""
    assert lab.page.evaluate(card) == {"overflow": 0, "open": False, "summary": "Что значат эти числа", "notes": 2}
    lab.page.click('#summary [data-role="notes"] > summary')
    assert lab.page.evaluate(card)["open"] is True  # the reader's choice holds, scrolled or not
    lab.page.set_viewport_size({"width": 1280, "height": 1000})
    lab.page.wait_for_timeout(200)
    assert lab.page.evaluate(card)["open"] is True
    title = lab.page.evaluate("""() => { const gd = document.getElementById('curves');
        const box = gd.querySelector('.g-y2title text').getBoundingClientRect();
        const plot = gd.getBoundingClientRect();
        return {top: box.top >= plot.top, bottom: box.bottom <= plot.bottom}; }""")
    assert title == {"top": True, "bottom": True}, title
    loss_ticks = lab.page.evaluate("""() => [...document.querySelectorAll('#curves g.ytick text')].map((t) => {
        const box = t.getBoundingClientRect(); return [box.top, box.bottom]; })""")
    assert len(loss_ticks) >= 2, loss_ticks
    ordered = sorted(loss_ticks)
    assert all(upper[1] <= lower[0] for upper, lower in itertools.pairwise(ordered)), ordered
    menu = lab.page.evaluate("""() => { const notes = document.getElementById('ls-notes');
        const menu = notes.querySelector('[data-role="directions"]').getBoundingClientRect();
        return {right: menu.right, column: notes.getBoundingClientRect().left + notes.clientWidth}; }""")
    assert menu["right"] <= menu["column"], menu
    lab.shot("networks-projector-720.png")


def test_the_result_card_shows_every_number_whole_on_a_720_px_projector(lab: Lab) -> None:
    """Gradient descent to convergence, in Russian on a 720-px projector: every value of the result
    card lies inside it ("300 (GD) · 1/эпоха" ran 27 px out, and the numbers beside it were cut:
    "10" for 109), a long value wraps after its "·", and the card still needs no scrolling."""
    lab.page.set_viewport_size({"width": 1280, "height": 720})
    open_page(lab, "?lesson=gd_stopping&lang=ru&proj=1")
    assert train(lab)["status"] == "converged"
    card = lab.page.evaluate("""() => { const c = document.getElementById('summary'), box = c.getBoundingClientRect();
        return {wide: c.scrollWidth - c.clientWidth, tall: c.scrollHeight - c.clientHeight,
                out: [...c.querySelectorAll('td')].filter((td) => td.getBoundingClientRect().right > box.right)
                                                   .map((td) => td.textContent),
                batches: [...c.querySelectorAll('tr')].find((tr) => tr.cells[0].textContent === 'batch_size').cells[1].innerText}; }""")
    assert card["wide"] == 0 and card["tall"] == 0 and card["out"] == [], card
    assert card["batches"].replace("\u2060", "") in ("300\u00a0(GD)\u00a0· 1/эпоха", "300\u00a0(GD)\u00a0·\n1/эпоха"), card
    assert lab.page.inner_text('#summary [data-role="best-epoch"]') == "109"


def test_the_rules_labels_stay_inside_the_curves_plot(lab: Lab) -> None:
    """A run that stopped early on a 720-px projector in Russian: the best epoch's and the stop's
    labels are drawn inside the plot (the best epoch's ran over the accuracy axis's labels)."""
    lab.page.set_viewport_size({"width": 1280, "height": 720})
    open_page(lab, SMALL + "&ls=0&lang=ru&proj=1")
    run = train(lab)
    assert run["summary"]["stopped_early"]
    placed = lab.page.evaluate("""() => {
        const gd = document.getElementById('curves'), plot = gd.querySelector('.nsewdrag').getBoundingClientRect();
        return [...gd.querySelectorAll('g.annotation')].map((note) => {
            const box = note.getBoundingClientRect();
            return {text: note.textContent, left: box.left - plot.left, right: plot.right - box.right,
                    top: box.top - plot.top, bottom: plot.bottom - box.bottom, box: [box.left, box.top, box.right, box.bottom]}; });
    }""")
    assert len(placed) == 2, placed
    assert all(min(p["left"], p["right"], p["top"], p["bottom"]) >= -1 for p in placed), placed
    (left, top, right, bottom), (left2, top2, right2, bottom2) = (p["box"] for p in placed)
    assert right <= left2 or right2 <= left or bottom <= top2 or bottom2 <= top, placed  # not on each other
    lab.shot("networks-rules-ru-720.png")


def test_a_queued_run_says_how_many_runs_are_ahead_then_trains(lab: Lab) -> None:
    """Both run threads busy and a third run queued (runs of minutes, through the API): Train
    queues the page's run behind it, and the page says there is one ahead, in full even in
    Russian on a 720-px projector (the train bar once cut it to "в очереди: вп…"); once those
    runs are cancelled, it trains to the end."""
    lab.page.set_viewport_size({"width": 1280, "height": 720})
    open_page(lab, SMALL + "&ls=0&lang=ru&proj=1")
    with one_run_queued(lab):
        lab.page.click("#train-btn")
        lab.page.wait_for_function(
            "() => document.getElementById('run-state').textContent === 'в очереди: впереди 1'", timeout=20_000)
        assert lab.page.inner_text('#summary [data-role="progress"]') == "в очереди: впереди 1"
        shown = lab.page.evaluate("""() => {
            const state = document.getElementById('run-state'), bar = state.closest('.train-bar');
            const box = state.getBoundingClientRect(), barBox = bar.getBoundingClientRect();
            return state.scrollWidth <= state.clientWidth && box.right <= barBox.right && box.bottom <= barBox.bottom;
        }""")
        assert shown, "the train bar cuts its state off"
    lab.page.wait_for_function("() => (window.networks.state.runtime.run || {}).summary", timeout=60_000)
    assert lab.page.inner_text('#summary [data-role="status"]') in ("завершён", "остановлен рано")
    lab.shot("networks-queued-ru-720.png")


def test_the_boundary_shows_the_final_snapshot_and_the_slider_replays_earlier_ones(lab: Lab) -> None:
    open_page(lab, SMALL + "&ls=0")
    run = train(lab)
    snaps = lab.page.evaluate(
        "() => window.networks.state.runtime.run.boundaries"
        ".map(b => ({epoch: b.epoch, final: b.final, z: b.z}))"
    )
    assert snaps[-1]["final"] and len(snaps) >= 3
    summary = run["summary"]
    final_epoch = summary["best_epoch"] if summary["restored_best"] else summary["epochs_run"]
    assert snaps[-1]["epoch"] == final_epoch
    heat = plot(lab, "data-plot")
    assert heat[0]["type"] == "heatmap" and heat[0]["z"] == snaps[-1]["z"]
    # The plot follows its box (it once kept the size it was drawn at, and, when the replay row
    # appeared after that, painted over the row): the row hidden and shown, the plot re-measures.
    for hidden in (True, False):
        lab.page.evaluate("(hidden) => { document.getElementById('replay').hidden = hidden; }", hidden)
        lab.page.wait_for_function(
            """() => Math.abs(document.querySelector('#data-plot .main-svg').getBoundingClientRect().bottom
                              - document.getElementById('data-plot').getBoundingClientRect().bottom) < 0.5""",
            timeout=5_000)
    assert lab.page.inner_text("#frame-label") == f"epoch {final_epoch} · final"
    # Back to the initialisation: the heat map shows that snapshot, then the final one again.
    lab.page.fill("#frame-slider", "0")
    frame(lab)
    assert plot(lab, "data-plot")[0]["z"] == snaps[0]["z"] != snaps[-1]["z"]
    assert lab.page.inner_text("#frame-label") == "epoch 0"
    lab.page.fill("#frame-slider", str(len(snaps) - 1))
    frame(lab)
    assert plot(lab, "data-plot")[0]["z"] == snaps[-1]["z"]
    lab.shot("networks-04-boundary.png")


def hold_after_preview(lab: Lab) -> dict[str, Any]:
    """Route the run's websocket through the test: once the landscape preview reached the
    page, later messages (and the close) wait until `release(held)` is called."""
    held: dict[str, Any] = {"hold": False, "messages": [], "close": None, "page": None}

    def route(ws: Any) -> None:
        server = ws.connect_to_server()
        held["page"] = ws

        def from_server(message: str | bytes) -> None:
            if held["hold"]:
                held["messages"].append(message)
                return
            ws.send(message)
            msg = json.loads(message)
            held["hold"] = msg["type"] == "landscape" and msg["stage"] == "preview"

        def closed(code: int | None, reason: str | None) -> None:
            if held["hold"]:
                held["close"] = (code, reason)
            else:
                ws.close(code=code, reason=reason)

        server.on_message(from_server)
        server.on_close(closed)

    lab.page.route_web_socket("**/api/runs/*/stream", route)
    return held


def release(held: dict[str, Any]) -> None:
    held["hold"] = False
    for message in held["messages"]:
        held["page"].send(message)
    if held["close"] is not None:
        code, reason = held["close"]
        held["page"].close(code=code, reason=reason)


def test_the_landscape_draws_the_servers_grid_progressively_with_the_path(lab: Lab) -> None:
    open_page(lab, "?n=200&hidden=16&epochs=12&es=0&res=21&dirs=pca")
    held = hold_after_preview(lab)
    lab.page.click("#train-btn")
    # The coarse preview is drawn at once, with the path, before the full grid arrives.
    lab.page.wait_for_function(
        """() => { const d = document.getElementById('ls-contour').data;
            return d && d.length === 3 && d[0].x.length < 21 && d[1].x.length === 13; }""",
        timeout=60_000,
    )
    preview = lab.page.evaluate("() => window.networks.state.runtime.run.landscape")
    assert preview["stage"] == "preview" and cells(plot(lab, "ls-contour")[0], 0) == preview["loss"]
    assert lab.page.is_visible('[data-role="ls-progress"]')
    release(held)
    lab.page.wait_for_function(
        "() => { const r = window.networks.state.runtime.run; return r.summary && r.report; }"
    )
    frame(lab)
    run = api_get(lab.server, "/api/runs/" + lab.page.evaluate("window.networks.state.runtime.run.id"))
    assert run["status"] == "finished"
    report = api_get(lab.server, f"/api/runs/{run['id']}/landscape")
    contour, path, final = plot(lab, "ls-contour")
    assert (
        contour["x"] == report["a"]
        and contour["y"] == report["b"]
        and cells(contour, 0) == report["loss"]
        and cells(contour, 1) == report["accuracy"]
    )
    assert [list(p) for p in zip(path["x"], path["y"], strict=True)] == report["trajectory"]
    assert (path["x"][-1], path["y"][-1]) == (0, 0) and (final["x"], final["y"]) == ([0], [0])
    assert path["customdata"] == report["checkpoint_epochs"] == list(range(13))
    surface = plot(lab, "ls-surface")[0]
    assert surface["type"] == "surface" and cells(surface, 0) == report["loss"]
    notes = lab.page.inner_text("#ls-notes")
    assert f"{report['eval_samples']} training samples" in notes and "explained variance" in notes
    href = lab.page.get_attribute('[data-role="export"]', "href")
    with urllib.request.urlopen(f"{lab.server}{href}", timeout=30) as r:
        assert r.status == 200 and len(r.read()) > 100
    lab.shot("networks-05-landscape.png")

    # The same slice of accuracy: the server's accuracy grid as drawn, good = light as for loss.
    lab.page.select_option('#ls-notes [data-role="ls-value"]', "accuracy")
    lab.page.wait_for_function("() => document.getElementById('ls-contour').data[0].reversescale === true")
    frame(lab)
    contour, surface = plot(lab, "ls-contour")[0], plot(lab, "ls-surface")[0]
    assert contour["z"] == report["accuracy"] and surface["z"] == report["accuracy"]
    notes = lab.page.inner_text("#ls-notes")
    assert "accuracy" in notes and "levels every" in notes
    lab.shot("networks-05b-landscape-accuracy.png")
    lab.page.select_option('#ls-notes [data-role="ls-value"]', "loss")
    lab.page.wait_for_function("() => !document.getElementById('ls-contour').data[0].reversescale")

    lab.page.click('[data-tab="faith"]')
    lab.page.wait_for_function("() => (document.getElementById('ls-faith').data || []).length === 3")
    true_loss, slice_loss, residual = plot(lab, "ls-faith")
    assert true_loss["y"] == report["true_loss"] and slice_loss["y"] == report["slice_loss"]
    assert residual["y"] == report["residual"]
    ticks = right_ticks(lab, "ls-faith")
    assert [text for _, text in ticks] == PERCENT_TICKS and labelled_truly(ticks)  # not the loss axis's heights (4%, 10%, 14%...)
    lab.shot("networks-06-faithfulness.png")

    lab.page.click('[data-tab="interp"]')
    lab.page.wait_for_function("() => (document.getElementById('interp-plot').data || []).length === 2")
    loss = plot(lab, "interp-plot")[0]
    assert len(loss["x"]) == 41 and loss["x"] == report["interpolation"]["alpha"]
    assert loss["y"] == report["interpolation"]["loss"]
    ticks = right_ticks(lab, "interp-plot")
    assert [text for _, text in ticks] == PERCENT_TICKS and labelled_truly(ticks)
    lab.shot("networks-07-interpolation.png")


def test_sgd_then_adam_compare_on_one_plane_and_on_one_line(lab: Lab) -> None:
    open_page(lab, SMALL + "&ls=0&es=0")
    first = train(lab)
    lab.page.select_option('select[data-role="opt"]', "adam")
    frame(lab)  # the form is rebuilt for Adam's keywords
    set_input(lab, 'input[data-name="lr"][data-role="num"]', "0.02")
    second = train(lab)
    assert second["config"]["optimizer"]["name"] == "adam"
    lab.page.click('[data-tab="compare"]')
    ticked = lab.page.eval_on_selector_all(
        "#compare-list input[data-run]:checked", "els => els.map(e => e.dataset.run)"
    )
    assert ticked == [first["id"], second["id"]]  # the same data and model: ticked already
    lab.page.click('[data-role="compare"]')
    lab.page.wait_for_function(
        "() => (document.getElementById('compare-plot').data || []).length === 4", timeout=60_000
    )
    served = api_post(
        lab.server,
        "/api/landscapes/compare",
        {"runs": [first["id"], second["id"]], "resolution": 31, "span": 1.0, "eval_samples": 500},
    )
    traces = plot(lab, "compare-plot")
    assert cells(traces[0], 0) == served["loss"]
    paths = traces[1:3]
    assert [t["name"].split(" ")[0] for t in paths] == ["#1", "#2"]
    for t, r in zip(paths, served["runs"], strict=True):
        assert [list(p) for p in zip(t["x"], t["y"], strict=True)] == r["trajectory"]
    assert paths[0]["x"] != paths[1]["x"]
    # The same plane's accuracy, from the same answer.
    lab.page.select_option('#compare-list [data-role="ls-value"]', "accuracy")
    lab.page.wait_for_function("() => document.getElementById('compare-plot').data[0].reversescale === true")
    assert plot(lab, "compare-plot")[0]["z"] == served["accuracy"]
    lab.page.select_option('#compare-list [data-role="ls-value"]', "loss")
    lab.page.click('[data-role="between"]')
    lab.page.wait_for_function(
        "() => (document.getElementById('between-plot').data || []).length === 2", timeout=60_000
    )
    line = plot(lab, "between-plot")[0]
    assert len(line["x"]) == 41 and line["x"][0] == -0.5 and line["x"][-1] == 1.5
    lab.shot("networks-08-compare.png")


def test_bad_input_shows_the_servers_message_and_the_page_keeps_working(lab: Lab) -> None:
    open_page(lab, SMALL + "&ls=0")
    lab.allowed.append("422")  # the browser logs the refused request itself
    set_input(lab, 'input[data-role="hidden"]', "16, 0")
    lab.page.click("#train-btn")
    lab.page.wait_for_selector("#form-error:not([hidden])")
    expected = rejection(
        lab.server,
        {
            "kind": "network",
            "dataset": {"name": "moons", "n_samples": 200},
            "model": {"name": "mlp", "hidden": [16, 0], "activation": "tanh"},
            "optimizer": {"name": "sgd", "lr": 0.1},
            "epochs": 15,
        },
    )
    text = lab.page.inner_text("#form-error")
    assert "model.hidden.1" in text and expected in text, (text, expected)
    set_input(lab, 'input[data-role="hidden"]', "16")
    set_input(lab, 'input[data-name="lr"][data-role="num"]', "-1")
    lab.page.click("#train-btn")
    lab.page.wait_for_function(
        "() => /optimizer\\.lr/.test(document.getElementById('form-error').textContent)"
    )
    expected = rejection(
        lab.server,
        {
            "kind": "network",
            "dataset": {"name": "moons"},
            "model": {"name": "mlp"},
            "optimizer": {"name": "sgd", "lr": -1},
        },
    )
    assert lab.page.inner_text("#form-error") == f"Error: optimizer.lr: {expected}"
    lab.shot("networks-09-bad-input.png")
    set_input(lab, 'input[data-name="lr"][data-role="num"]', "0.1")
    run = train(lab)
    assert run["status"] in ("finished", "early_stopped")
    assert lab.page.is_hidden("#form-error")


def test_a_link_reopens_the_same_settings(lab: Lab, browser: Any) -> None:
    open_page(lab, "?n=200")
    page = lab.page
    page.select_option('select[data-role="ds"]', "circles")
    page.select_option('select[data-role="opt"]', "adam")
    frame(lab)  # the form is rebuilt for Adam's keywords
    set_input(lab, 'input[data-name="lr"][data-role="num"]', "0.01")
    page.click('[data-role="quick"][data-batch="1"]')
    page.select_option('select[data-role="sched"]', "plateau")
    page.click("#proj-toggle")
    page.click("#lang-btn")
    frame(lab)
    # the link Share copies (the click's work is async: location.href, read at once, lagged the language)
    page.evaluate("() => { window.copied = []; navigator.clipboard.writeText = async (url) => { window.copied.push(url); }; }")
    page.click("#share-btn")
    page.wait_for_function("() => window.copied.length === 1")
    url = page.evaluate("window.copied[0]")
    scene = page.evaluate("() => JSON.parse(JSON.stringify(window.networks.state.scene))")
    assert scene["ds"] == "circles" and scene["opt"] == "adam" and scene["hp"] == {"lr": 0.01}
    assert scene["batch"] == 1 and scene["sched"] == "plateau" and scene["lang"] == "ru"
    other_context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        other = Lab(other_context.new_page(), lab.server)
        other.page.goto(url)
        other.page.wait_for_function("window.networks && window.networks.ready === true")
        assert other.page.evaluate("() => JSON.parse(JSON.stringify(window.networks.state.scene))") == scene
        assert other.page.input_value('select[data-role="sched"]') == "plateau"
        assert other.page.inner_text("#train-btn") == "Обучить"
        assert other.page.evaluate("document.body.classList.contains('projector')")
        assert not other.errors
    finally:
        other_context.close()



# ---- a CSV dataset travels by its stored id -----------------------------------------------
CSV_LINK = re.compile(r"[?&]csvid=([0-9a-f]{64})(&|$)")


def two_clusters(n: int = 40, shift: float = 0.0) -> str:
    """A small CSV the server takes: two numeric features, then a 0/1 class (the target)."""
    rows = ["x0,x1,y"]
    for i in range(n):
        label = i % 2
        rows.append(f"{2 * label - 1 + 0.1 * (i % 7) + shift:.2f},{0.05 * i - 1:.2f},{label}")
    return "\n".join(rows) + "\n"


def open_csv_page(lab: Lab, query: str) -> None:
    """The networks page on a CSV scene, its catalogues loaded and the preview asked for (a
    CSV scene without text has a preview that is neither data nor an error)."""
    lab.page.goto(f"{lab.server}/networks.html{query}")
    lab.page.wait_for_function("window.networks && window.networks.ready === true", timeout=20_000)
    lab.page.wait_for_function("() => window.networks.state.runtime.preview !== null", timeout=20_000)
    frame(lab)


def drawn_points(lab: Lab) -> list[tuple[float, float]]:
    """The samples the data panel draws (every split), sorted."""
    lab.page.wait_for_function(
        "() => { const p = window.networks.state.runtime.preview; return p && p.data; }", timeout=20_000
    )
    frame(lab)
    return sorted((x, y) for t in plot(lab, "data-plot") for x, y in zip(t["x"], t["y"], strict=True))


def preview_points(server: str, csv: str) -> list[tuple[float, float]]:
    """The samples the server's preview of `csv` has (the oracle for what is drawn)."""
    body = {"dataset": {"name": "csv", "csv": csv}, "split": {"val": 0.2, "test": 0.2}, "seed": 0}
    points = api_post(server, "/api/datasets/preview", body)["points"]
    return sorted(zip(points["x0"], points["x1"], strict=True))


def test_a_pasted_csv_travels_by_its_id_to_a_fresh_browser(lab: Lab, browser: Any) -> None:
    text = two_clusters()
    open_csv_page(lab, "?ds=csv")
    page = lab.page
    page.fill('textarea[data-role="csv"]', text)  # as a paste: the text at once
    page.wait_for_function("(re) => new RegExp(re).test(location.search)", arg=CSV_LINK.pattern, timeout=20_000)
    url = page.url
    match = CSV_LINK.search(url)
    assert match and match[1] == hashlib.sha256(text.encode()).hexdigest()
    assert "x0" not in url  # the text itself stays out of the link
    assert drawn_points(lab) == preview_points(lab.server, text)

    # A browser of its own (another cookie): the same text in the box, the same samples drawn.
    other_context = offline_context(browser)
    try:
        other = Lab(other_context.new_page(), lab.server)
        open_csv_page(other, url[url.index("?"):])
        other.page.wait_for_function(
            "(text) => document.querySelector('textarea[data-role=\"csv\"]').value === text", arg=text, timeout=20_000
        )
        assert other.page.evaluate("window.networks.state.scene.csv") == text
        assert other.page.evaluate("window.networks.state.scene.csvid") == match[1]
        assert drawn_points(other) == preview_points(lab.server, text)
        assert other.page.is_hidden("#data-note")
        other.page.wait_for_function("() => location.search.includes('csvid=')")  # the id stays in the link
        other.shot("networks-csv-link.png")
        assert not other.errors and not other_context.outside

        # An edit drops the id at once; the edited text gets its own. A text this page already
        # had (fetched or stored) takes its id back without storing it again.
        stored: list[str] = []
        other.page.on("request", lambda r: stored.append(r.url) if r.method == "POST" and "/csv" in r.url else None)
        edited = text + "0.5,0.5,1\n"
        other.page.fill('textarea[data-role="csv"]', edited)
        assert other.page.evaluate("window.networks.state.scene.csvid") is None
        other.page.wait_for_function(
            "(id) => window.networks.state.scene.csvid === id",
            arg=hashlib.sha256(edited.encode()).hexdigest(), timeout=20_000,
        )
        other.page.fill('textarea[data-role="csv"]', text)
        assert other.page.evaluate("window.networks.state.scene.csvid") == match[1]
        other.page.fill('textarea[data-role="csv"]', edited)
        assert other.page.evaluate("window.networks.state.scene.csvid") == hashlib.sha256(edited.encode()).hexdigest()
        assert len(stored) == 1, stored
    finally:
        other_context.close()


def test_a_loaded_csv_file_is_stored_and_named_by_the_link(lab: Lab) -> None:
    text = two_clusters(n=30, shift=-0.5)
    open_csv_page(lab, "?ds=csv&lang=ru")
    # the file button speaks the page's language, not the browser's ("Choose File / No file chosen")
    picker = lab.page.locator("label.file-pick")
    assert picker.inner_text().split() == ["или", "загрузите", "файл", "Выбрать", "файл…"]
    box = lab.page.locator('input[data-role="csv-file"]').bounding_box()
    assert box is not None and box["width"] <= 1 and box["height"] <= 1  # out of sight, still focusable
    lab.page.focus('input[data-role="csv-file"]')
    lab.page.set_input_files(
        'input[data-role="csv-file"]', files=[{"name": "two.csv", "mimeType": "text/csv", "buffer": text.encode()}]
    )
    csvid = hashlib.sha256(text.encode()).hexdigest()
    lab.page.wait_for_function("(id) => location.search.endsWith(`csvid=${id}`)", arg=csvid, timeout=20_000)
    assert lab.page.input_value('textarea[data-role="csv"]') == text
    assert lab.page.inner_text('[data-role="csv-file-name"]') == "two.csv"
    assert drawn_points(lab) == preview_points(lab.server, text)


def test_share_right_after_a_paste_copies_a_link_that_names_the_csv(lab: Lab) -> None:
    """Share pressed before the pause after a paste is over: the page stores the text first, so
    the copied link names it (it copied a link that opened an empty CSV box)."""
    text = two_clusters(n=25, shift=0.25)
    open_csv_page(lab, "?ds=csv")
    lab.page.evaluate("() => { window.copied = []; navigator.clipboard.writeText = async (url) => { window.copied.push(url); }; }")
    lab.page.fill('textarea[data-role="csv"]', text)
    lab.page.click("#share-btn")
    lab.page.wait_for_function("() => window.copied.length === 1", timeout=20_000)
    copied = lab.page.evaluate("window.copied[0]")
    assert copied.endswith(f"csvid={hashlib.sha256(text.encode()).hexdigest()}"), copied


def test_a_csv_the_server_will_not_store_leaves_the_link_without_it_and_says_why(lab: Lab) -> None:
    lab.allowed.append("429")  # the browser logs the refused request itself
    refusal = "this client stores 50 CSVs already: a CSV is forgotten 30 days after its last use"
    lab.page.route(
        "**/api/datasets/csv", lambda route: route.fulfill(status=429, json={"detail": refusal})
    )
    open_csv_page(lab, "?ds=csv&lang=ru")
    lab.page.fill('textarea[data-role="csv"]', two_clusters(shift=0.5))
    lab.page.wait_for_selector("#toast:not([hidden])", timeout=20_000)
    toast = lab.page.inner_text("#toast")
    assert toast.startswith("CSV не сохранился на сервере") and toast.endswith(refusal), toast
    assert lab.page.evaluate("window.networks.state.scene.csvid") is None
    assert len(drawn_points(lab)) == 40  # the page itself works on the text
    lab.page.evaluate("() => { window.copied = []; navigator.clipboard.writeText = async (url) => { window.copied.push(url); }; }")
    lab.page.click("#share-btn")  # the copied link has no CSV, and the toast says so (it said "link copied")
    lab.page.wait_for_function("() => window.copied.length === 1", timeout=20_000)
    assert "csvid" not in lab.page.evaluate("window.copied[0]")
    toast = lab.page.inner_text("#toast")
    assert toast.startswith("Ссылка скопирована, но без CSV") and refusal in toast, toast


@pytest.mark.parametrize(
    ("lang", "words"), [("en", "no longer stored on the server"), ("ru", "больше нет на сервере")], ids=["en", "ru"]
)
def test_a_link_to_a_csv_the_server_forgot_says_so_in_the_pages_language(lab: Lab, lang: str, words: str) -> None:
    lab.allowed.append("404")  # the browser logs the refused request itself
    held: list[Any] = []
    lab.page.route("**/api/datasets/csv/*", lambda route: held.append(route))  # the answer waits until the test lets it go
    unknown = hashlib.sha256(f"never stored {lang}".encode()).hexdigest()
    open_csv_page(lab, f"?ds=csv&csvid={unknown}&lang={lang}")
    strings = lab.page.evaluate("async (lang) => (await import('/js/networks/strings.js')).STRINGS[lang]", lang)
    note = "() => document.getElementById('data-note')"
    lab.page.wait_for_function(f"(text) => ({note})().textContent === text", arg=strings["csv_loading"], timeout=20_000)
    assert len(held) == 1 and held[0].request.url.endswith(f"/api/datasets/csv/{unknown}")
    held[0].fallback()
    lab.page.wait_for_function(f"(text) => ({note})().textContent === text", arg=strings["csv_gone"], timeout=20_000)
    assert words in lab.page.inner_text("#data-note") and lab.page.is_visible("#data-note")
    assert lab.page.input_value('textarea[data-role="csv"]') == ""
    lab.shot(f"networks-csv-gone-{lang}.png")
    lab.page.wait_for_function("(id) => location.search.includes(`csvid=${id}`)", arg=unknown)  # kept: a reload asks again


# ---- lessons ------------------------------------------------------------------------------
# (id, bottom tab, scene keys it promises, parts of its link)
LESSONS = [
    (
        "gd_stopping",
        "landscape",
        {"ds": "linear_regression", "model": "linear", "batch": 1000, "epochs": 300, "es": False,
         "stopw": 0.001, "stopg": None},
        ["ds=linear_regression", "batch=1000", "stopw=0.001"],
    ),
    (
        "gd_sgd_minibatch",
        "compare",
        {"ds": "linear_regression", "n": 200, "model": "linear", "hp": {"lr": 0.1, "momentum": 0},
         "batch": 120, "epochs": 40, "es": False, "ls": True, "dirs": "pca"},
        ["ds=linear_regression", "model=linear", "batch=120", "es=0", "o.momentum=0"],
    ),
    (
        "learning_rate",
        "landscape",
        {"ds": "linear_regression", "model": "linear", "opt": "sgd", "hp": {"lr": 1.5, "momentum": 0},
         "sched": "constant", "epochs": 40, "es": False, "ls": False},
        ["ds=linear_regression", "o.lr=1.5", "o.momentum=0", "ls=0"],
    ),
    (
        "early_stopping",
        "landscape",
        {"ds": "moons", "n": 150, "noise": 0.35, "hidden": "128,128", "opt": "adam", "hp": {"lr": 0.01},
         "epochs": 300, "es": True, "patience": 20, "restore": True},
        ["n=150", "noise=0.35", "hidden=128,128", "opt=adam", "epochs=300", "patience=20"],
    ),
    (
        "momentum_adam",
        "compare",
        {"ds": "spirals", "hidden": "64,64", "act": "relu", "opt": "sgd", "hp": {"lr": 0.1, "momentum": 0},
         "epochs": 100, "es": False, "ls": True},
        ["ds=spirals", "hidden=64,64", "epochs=100", "o.momentum=0"],
    ),
    (
        "landscape_pictures",
        "landscape",
        {"ds": "moons", "es": False, "ls": True, "dirs": "random", "fnorm": True, "res": 31, "span": 1},
        ["dirs=random", "es=0"],
    ),
]


def scene_of(lab: Lab) -> dict[str, Any]:
    return dict(lab.page.evaluate("() => JSON.parse(JSON.stringify(window.networks.state.scene))"))


def wait_url(lab: Lab, lesson: str) -> str:
    """The query once the (throttled) URL names `lesson`."""
    lab.page.wait_for_function("(id) => location.search.includes(`lesson=${id}`)", arg=lesson)
    return str(lab.page.evaluate("() => location.search"))


def chosen_lesson(lab: Lab) -> str:
    """The label the lesson menu shows."""
    return str(lab.page.eval_on_selector("#lesson-select", "s => s.options[s.selectedIndex].textContent"))


def card(lab: Lab) -> dict[str, Any]:
    """What the lesson card shows: title, paragraphs, heading of the list, things to try."""
    return dict(
        lab.page.evaluate(
            """() => { const c = document.getElementById('lesson-card'), all = (s) =>
                [...c.querySelectorAll(s)].map((e) => e.textContent);
                return {hidden: c.hidden, title: all('h2')[0] || null, paras: all('p'),
                        heading: all('h3')[0] || null, tries: all('li')}; }"""
        )
    )


def test_every_lesson_opens_from_the_menu_sets_its_scene_and_shows_its_card_in_en_and_ru(lab: Lab) -> None:
    open_page(lab, "?n=200")
    page = lab.page
    ids = page.eval_on_selector_all("#lesson-select option", "els => els.map(e => e.value)")
    assert ids == ["", *(lesson for lesson, *_ in LESSONS)]
    assert card(lab)["hidden"]
    for lesson, tab, promised, parts in LESSONS:
        page.select_option("#lesson-select", lesson)
        frame(lab)
        scene = scene_of(lab)
        assert {k: scene[k] for k in promised} == promised, lesson
        assert scene["lesson"] == lesson and scene["seed"] == 0
        query = wait_url(lab, lesson)
        assert set(parts) <= set(query.removeprefix("?").split("&")), (lesson, query)
        decoded = page.evaluate(
            "async (q) => JSON.parse(JSON.stringify((await import('/js/networks/codec.js')).decodeScene(q)))",
            query,
        )
        assert decoded == scene  # the link reproduces the lesson's scene
        assert page.input_value('select[data-role="ds"]') == scene["ds"]
        assert page.get_attribute(f'[data-tab="{tab}"]', "aria-selected") == "true"
        en = card(lab)
        assert not en["hidden"] and en["title"] == chosen_lesson(lab) and en["heading"] == "What to try"
        assert 2 <= len(en["paras"]) <= 4 and 3 <= len(en["tries"]) <= 5
        page.click("#lang-btn")
        frame(lab)
        ru = card(lab)
        assert ru["heading"] == "Что попробовать" and ru["title"] != en["title"]
        assert len(ru["paras"]) == len(en["paras"]) and len(ru["tries"]) == len(en["tries"])
        assert all(any("а" <= ch <= "я" for ch in text) for text in ru["paras"] + ru["tries"])
        assert chosen_lesson(lab) == ru["title"]
        page.click("#lang-btn")
        frame(lab)
    lab.shot("networks-lesson-landscape-pictures.png")
    # Free play keeps the settings and hides the card; so does the card's ✕.
    page.select_option("#lesson-select", "")
    frame(lab)
    assert card(lab)["hidden"] and scene_of(lab)["lesson"] is None and scene_of(lab)["dirs"] == "random"
    page.select_option("#lesson-select", "early_stopping")
    frame(lab)
    page.click('#lesson-card [data-role="close-lesson"]')
    frame(lab)
    assert card(lab)["hidden"] and scene_of(lab)["lesson"] is None and scene_of(lab)["hidden"] == "128,128"


def test_a_lesson_link_opens_the_lesson_and_its_full_link_keeps_later_changes(lab: Lab, browser: Any) -> None:
    open_page(lab, "?lesson=early_stopping&lang=ru")
    scene = scene_of(lab)
    promised = next(keys for lesson, _, keys, _ in LESSONS if lesson == "early_stopping")
    assert {k: scene[k] for k in promised} == promised and scene["lang"] == "ru"
    assert card(lab)["title"] == "4 · Ранняя остановка и тестовая выборка"
    # Change a setting inside the lesson: the link now carries the settings, and reopens them.
    set_input(lab, 'input[data-role="patience"]', "7")
    lab.page.wait_for_function("() => location.search.includes('patience=7')")
    url = lab.page.evaluate("() => location.href")
    scene = scene_of(lab)
    assert scene["patience"] == 7 and scene["lesson"] == "early_stopping"
    other_context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        other = Lab(other_context.new_page(), lab.server)
        other.page.goto(url)
        other.page.wait_for_function("window.networks && window.networks.ready === true")
        assert scene_of(other) == scene
        assert not card(other)["hidden"] and not other.errors
    finally:
        other_context.close()


def test_the_early_stopping_lesson_trains_and_stops_early_on_the_best_epoch(lab: Lab) -> None:
    open_page(lab, "?lesson=early_stopping")
    run = train(lab)
    summary = run["summary"]
    assert run["status"] == "early_stopped" and summary["restored_best"] and summary["test_evaluations"] == 1
    assert summary["epochs_run"] - summary["best_epoch"] == 20  # patience
    assert summary["final_val_loss"] > summary["best_val_loss"]  # the val curve turned up
    assert lab.page.inner_text('#summary [data-role="status"]') == "stopped early"
    lab.shot("networks-lesson-early-stopping.png")


def test_the_stopping_rules_lesson_converges_where_its_card_says_and_sgd_stops_by_chance(lab: Lab) -> None:
    open_page(lab, "?lesson=gd_stopping")
    run = train(lab)
    summary = run["summary"]
    assert run["status"] == "converged" and summary["converged_by"] == "step_norm"
    assert summary["converged_at_step"] == summary["steps"] == 109  # as the card says
    assert lab.page.inner_text('#summary [data-role="status"]') == "converged"
    note = lab.page.inner_text('#summary [data-role="converged"]')
    assert note == "stopped after step 109: ‖w − w_prev‖ < 0.001"
    shapes = lab.page.evaluate(
        "() => document.getElementById('curves').layout.shapes.map(s => ({name: s.name, x: s.x0}))"
    )
    assert {"name": "converged", "x": 109} in shapes  # GD: one step an epoch
    lab.shot("networks-lesson-stopping-rules.png")
    # The same rule on the gradient: ‖∇L‖ < ε/η holds at the same step.
    set_input(lab, '[data-role="stopw"]', "")
    set_input(lab, '[data-role="stopg"]', "0.01")
    run = train(lab)
    assert run["config"]["stop"] == {"grad_norm": 0.01, "step_norm": 0}
    assert run["summary"]["converged_by"] == "grad_norm" and run["summary"]["converged_at_step"] == 109
    # Single samples: a tiny gradient by chance, long before the minimum.
    lab.page.click('[data-role="quick"][data-batch="1"]')
    run = train(lab)
    assert run["status"] == "converged" and run["summary"]["converged_at_step"] == 26
    assert run["summary"]["test_loss"] > 0.34


def test_the_learning_rate_lesson_diverges_as_its_card_says(lab: Lab) -> None:
    open_page(lab, "?lesson=learning_rate")
    run = train(lab)
    assert run["status"] == "diverged" and run["summary"]["diverged_at_step"] is not None
    assert lab.page.inner_text('#summary [data-role="status"]') == "diverged"
    # The card's numbers: λ_max ≈ 3.37 at the start, so GD is stable only below 2/λ_max ≈ 0.59 < 1.5.
    assert run["summary"]["sharpness_initial"] == pytest.approx(3.37, abs=0.01)
    assert lab.page.inner_text('#summary [data-role="sharpness"]') == "3.37 → —"
    assert lab.page.inner_text('#summary [data-role="stable-lr"]') == "0.594 → —"


def test_the_links_between_the_pages_keep_language_and_projector(lab: Lab) -> None:
    lab.open("?surface=quadratic&r=sgd,lr=0.1&lang=ru&proj=1")
    link = lab.page.get_attribute("#networks-link", "href")
    assert link == "/networks.html?lang=ru&proj=1"
    lab.page.click("#networks-link")
    lab.page.wait_for_function("window.networks && window.networks.ready === true", timeout=20_000)
    scene = scene_of(lab)
    assert (scene["lang"], scene["proj"], scene["cb"]) == ("ru", True, False)
    assert lab.page.evaluate("document.body.classList.contains('projector')")
    frame(lab)
    assert lab.page.get_attribute("#explorer-link", "href") == "/?lang=ru&proj=1"
    lab.page.click("#explorer-link")
    lab.page.wait_for_function("window.descent && window.descent.ready === true", timeout=20_000)
    explorer = lab.scene()
    assert (explorer["lang"], explorer["proj"]) == ("ru", True)
    assert lab.page.evaluate("document.documentElement.lang") == "ru"


def test_an_ended_run_is_surveyed_again_from_the_page(lab: Lab) -> None:
    open_page(lab, SMALL + "&ls=0")
    run = train(lab)
    assert lab.page.evaluate("window.networks.state.runtime.run.report") is None
    lab.page.click('[data-tab="landscape"]')
    lab.page.select_option('#ls-notes [data-role="directions"]', "random")
    lab.page.click('#ls-notes [data-role="resurvey"]')
    lab.page.wait_for_function(
        "() => { const r = window.networks.state.runtime.run;"
        " return r.report && r.report.directions === 'random'; }",
        timeout=30_000,
    )
    frame(lab)
    report = api_get(lab.server, f"/api/runs/{run['id']}/landscape")
    assert report["directions"] == "random"
    contour = plot(lab, "ls-contour")[0]
    assert contour["x"] == report["a"] and cells(contour, 0) == report["loss"]
    # Again with other directions: the page and the server agree on the new slice.
    lab.page.select_option('#ls-notes [data-role="directions"]', "hessian")
    lab.page.click('#ls-notes [data-role="resurvey"]')
    lab.page.wait_for_function(
        "() => window.networks.state.runtime.run.report.directions === 'hessian'", timeout=30_000
    )
    frame(lab)
    report = api_get(lab.server, f"/api/runs/{run['id']}/landscape")
    assert report["eigenvalues"] is not None
    assert cells(plot(lab, "ls-contour")[0], 0) == report["loss"]
    lab.shot("networks-10-survey-again.png")
    assert not lab.errors
