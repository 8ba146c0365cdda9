"""Colours: every one comes from shared/palette.js; the colour-blind palette switches the
overlays and marks too, keeps the surface light at the minimum (where runs converge, the
paths must stay visible), pairs no red with green, and marks a network run's best epoch
and its convergence in colours far apart."""

from __future__ import annotations

import re
from typing import Any

from tests.browser.conftest import ROOT, Lab
from tests.browser.test_networks import frame, open_page

JS = ROOT / "frontend" / "js"
LITERAL = re.compile(r"#[0-9a-fA-F]{3,8}\b|rgba?\(|\"(?:Viridis|Cividis|Greys|Blues|RdBu)\"")


def test_no_colour_is_written_outside_the_palette() -> None:
    found = [
        f"{path.relative_to(JS)}:{n}: {line.strip()}"
        for path in sorted(JS.rglob("*.js"))
        if path.name != "palette.js"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if LITERAL.search(line) and not line.strip().startswith("//")
    ]
    assert not found, "\n".join(found)


def rgb(colour: str) -> tuple[float, float, float]:
    if colour.startswith("#"):
        h = colour[1:]
        return tuple(int(h[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]
    r, g, b = (float(x) for x in re.findall(r"[\d.]+", colour)[:3])
    return (r / 255, g / 255, b / 255)


def luminance(colour: str) -> float:
    """WCAG relative luminance."""
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb(colour)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def hue(colour: str) -> float:
    r, g, b = rgb(colour)
    hi, lo = max(r, g, b), min(r, g, b)
    if hi == lo:
        return -1.0
    if hi == r:
        h = ((g - b) / (hi - lo)) % 6
    elif hi == g:
        h = (b - r) / (hi - lo) + 2
    else:
        h = (r - g) / (hi - lo) + 4
    return 60 * h


def reddish(c: str) -> bool:
    return 0 <= hue(c) < 20 or hue(c) > 340


def greenish(c: str) -> bool:
    return 90 < hue(c) < 160


def palettes(lab: Lab) -> dict[str, Any]:
    lab.page.goto(f"{lab.server}/js/shared/palette.js")
    return dict(lab.page.evaluate(
        """async () => { const p = await import('/js/shared/palette.js');
            return { vivid: p.palette(false), safe: p.palette(true), safeProj: p.palette(true, true),
                     racers: [0, 1, 2, 3, 4, 5, 6, 7].map((i) => p.racerColor(i, true)) }; }"""
    ))


def test_the_safe_palette_is_light_at_the_minimum_and_pairs_no_red_with_green(lab: Lab) -> None:
    p = palettes(lab)
    for name in ("vivid", "safe", "safeProj"):
        ramp = p[name]["surface"]
        assert luminance(ramp[0][1]) > 0.85, (name, ramp)  # light where runs converge
        assert luminance(ramp[-1][1]) < luminance(ramp[0][1]) - 0.5  # darker uphill
    safe = p["safe"]
    pairs = [("curvingUp", "curvingDown"), ("best", "diverged"), ("regimeConverged", "regimeGap"),
             ("train", "val"), ("regimeFinished", "regimeConverged"), ("best", "converged")]
    for a, b in pairs:
        assert not ((reddish(safe[a]) and greenish(safe[b])) or (greenish(safe[a]) and reddish(safe[b]))), (a, b)
    # The paths keep a contrast against the light end of the ramp (the yellow is last).
    for colour in p["racers"][:7]:
        assert luminance(safe["surface"][0][1]) / max(luminance(colour), 1e-3) > 1.5, colour
    # Each overlay and mark changes with the palette.
    for key in ("momentum", "effective", "curvingUp", "curvingDown", "current", "converged", "regimeConverged"):
        assert p["vivid"][key] != safe[key], key


def test_the_colour_blind_switch_recolours_the_overlays_and_the_hessian_axes(lab: Lab) -> None:
    query = "?surface=ravine&steps=150&r=sgd,lr=0.039&r=sgd,lr=0.02,momentum=0.9&focus=1&ov=ghost,grad,mom,eff,eig&t=5"
    lab.open(query)
    overlays = """() => { const d = document.getElementById('contour-paths').data; const o = d.slice(-5);
        return { mom: o[1].line.color, up: o[3].line.color, down: o[4].line.color, dash: o[4].line.dash,
                 surface: document.getElementById('contour-map').data[0].colorscale[0][1] }; }"""
    vivid = lab.page.evaluate(overlays)
    lab.page.click("#cb-toggle")
    lab.frame()
    safe = lab.page.evaluate(overlays)
    p = palettes_from_page(lab)
    assert safe == {"mom": p["momentum"], "up": p["curvingUp"], "down": p["curvingDown"], "dash": "dash",
                    "surface": p["surface"][0][1]}
    assert vivid["mom"] != safe["mom"] and vivid["up"] != safe["up"]
    assert lab.page.evaluate("document.body.classList.contains('cb')")
    lab.shot("palette-colour-blind-explorer.png")


def palettes_from_page(lab: Lab) -> dict[str, Any]:
    return dict(lab.page.evaluate("async () => (await import('/js/shared/palette.js')).palette(true)"))


def test_best_epoch_and_convergence_are_told_apart(lab: Lab) -> None:
    open_page(lab, "?ds=linear_regression&model=linear&o.lr=0.1&o.momentum=0&batch=1000&epochs=300&es=0&stopw=0.001&ls=0&cb=1")
    lab.page.click("#train-btn")
    lab.page.wait_for_function("() => { const r = window.networks.state.runtime.run; return r && r.summary; }", timeout=60_000)
    frame(lab)
    shapes = lab.page.evaluate(
        "() => Object.fromEntries(document.getElementById('curves').layout.shapes.map(s => [s.name, [s.line.color, s.line.dash]]))"
    )
    assert "converged" in shapes
    p = palettes_from_page(lab)
    assert shapes["converged"][0] == p["converged"]
    if "best" in shapes:
        assert shapes["best"] != shapes["converged"]
        a, b = rgb(shapes["best"][0]), rgb(shapes["converged"][0])
        assert sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) ** 0.5 > 0.3
