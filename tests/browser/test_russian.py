"""A Russian interface all through: the catalogues' names and descriptions come from the API
in Russian (`?lang=ru`), switching the language fetches them again, a run's outcome is said
in Russian, and no English word of the interface is left on a Russian page (text or
aria-labels). Every string key of the tables is used somewhere."""

from __future__ import annotations

import re

from tests.browser.conftest import ROOT, Lab, api_get
from tests.browser.test_networks import open_page

# Words of the English interface; none may appear on a Russian page (torch's class and
# keyword names — lr, seed, patience, batch_size — formulas and units are not words of the
# interface and stay as they are).
ENGLISH = re.compile(
    r"\b(Optimizers?|Surface|Lesson|Share|Export|Projector|Colour|palette|step|steps|computing|Error|Retry|"
    r"minimum|saddle|finished|converged|diverged|budget|used up|Play|Pause|Show|whole path|momentum arrow|"
    r"Run|start|stop when|Basins|Regime|Compute|grid|colour|outcome|Train|Cancel|Data|Model|Training|"
    r"Early stopping|Landscape|Result|samples|hidden widths|activation|epochs?|shuffle|directions|"
    r"resolution|span|Compare|test|train|val|accuracy|loss|Free play|Networks|Explorer|Optimizer|schedule|"
    r"value|default|Settings|Views|Playback|playhead|figure|Contour|Scatter|Decision|curves)\b"
)


def english_words(lab: Lab) -> list[str]:
    """English interface words in the page's text and its aria-labels (lesson texts aside:
    they are written per language and checked by their own tests)."""
    texts = lab.page.evaluate(
        """() => {
            const skip = (el) => el.closest('.lesson-card, script, style, .js-plotly-plot .modebar, option');
            const out = [];
            const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            for (let n = walk.nextNode(); n; n = walk.nextNode()) {
                if (!skip(n.parentElement) && n.parentElement.offsetParent !== null) out.push(n.textContent);
            }
            for (const el of document.querySelectorAll('[aria-label]')) if (!skip(el)) out.push(el.getAttribute('aria-label'));
            return out;
        }"""
    )
    return sorted({m.group(0) for text in texts for m in ENGLISH.finditer(text)})


def test_the_explorer_in_russian_has_russian_catalogue_texts_and_no_english_word(lab: Lab) -> None:
    lab.open("?lang=ru&surface=ravine&steps=150&r=sgd,lr=0.02&r=sgd,lr=0.02,momentum=0.9&r=adam,lr=0.3&focus=1&t=150")
    page = lab.page
    surfaces = api_get(lab.server, "/api/surfaces?lang=ru")
    assert page.eval_on_selector_all("#surface-select option", "els => els.map(e => e.textContent)")[:3] == [
        "Квадратичная чаша", "Овраг (κ = 50)", "Овраг, повёрнутый на 45°"]
    assert surfaces[1]["description"] in (page.get_attribute("#surface-select", "title") or "")
    lr_title = page.get_attribute('[data-card="1"] .hp[title] span', "title") or ""
    assert lr_title.startswith("скорость обучения η")
    assert "бюджет в 150 шагов исчерпан" in page.inner_text('[data-card="1"] [data-role="status"]')
    assert english_words(lab) == []
    lab.shot("russian-explorer.png")
    # Back to English: the catalogues are fetched again in English.
    page.click("#lang-btn")
    page.wait_for_function("() => document.querySelector('#surface-select option:nth-child(2)').textContent === 'Ravine (κ = 50)'")
    page.click("#lang-btn")
    page.wait_for_function("() => document.querySelector('#surface-select option:nth-child(2)').textContent === 'Овраг (κ = 50)'")


def test_the_networks_page_in_russian_has_russian_catalogue_texts_and_no_english_word(lab: Lab) -> None:
    open_page(lab, "?lang=ru&n=200")
    page = lab.page
    options = page.eval_on_selector_all('select[data-role="ds"] option', "els => els.map(e => e.textContent)")
    assert options[:3] == ["Линейная регрессия", "Две луны", "Круги"]
    assert "Два вложенных друг в друга полукруга." in page.inner_text("#settings")
    assert "Полносвязные слои" in page.inner_text("#settings")
    assert english_words(lab) == []
    lab.shot("russian-networks.png")


def test_every_string_key_is_used() -> None:
    """A key no code names is a string nobody sees (keys built as `prefix_${…}` count)."""
    js = ROOT / "frontend" / "js"
    tables = {"shared/i18n.js", "explorer/strings.js", "networks/strings.js"}
    keys: set[str] = set()
    for name in tables:
        text = (js / name).read_text()
        en = text[text.index("  en: {"): text.index("\n  },", text.index("  en: {"))]
        keys |= set(re.findall(r"^    (\w+):", en, re.M))
    code = "".join(p.read_text() for p in js.rglob("*.js") if str(p.relative_to(js)) not in tables)
    code += (js / "shared/i18n.js").read_text().split("export const COMMON")[0]
    code += "".join(p.read_text() for p in (ROOT / "frontend").glob("*.html"))
    code += (js / "shared/i18n.js").read_text().rsplit("};", 1)[-1]  # statusWord and friends
    named = set(re.findall(r"[\"'](\w+)[\"']", code)) | set(re.findall(r'data-i18n(?:-title|-label)?="(\w+)"', code))
    prefixes = set(re.findall(r"`(\w+_)\$\{", code))
    unused = sorted(k for k in keys if k not in named and not any(k.startswith(p) for p in prefixes))
    assert not unused, unused
