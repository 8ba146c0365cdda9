"""The catalogues in Russian: `?lang=ru` (or Accept-Language: ru) gives every surface,
dataset and model a Russian name and description, every torch optimizer and schedule a
Russian description, and every keyword of theirs a Russian meaning; English stays the
default, and ids and numbers do not change."""

import re
from typing import Any

import httpx
import pytest

from backend.api import i18n
from backend.optim import optimizers, schedules

CYRILLIC = re.compile("[а-яё]", re.I)


def get(client: httpx.Client, path: str, **kw: Any) -> Any:
    response = client.get(path, **kw)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("path", ["/api/surfaces", "/api/datasets", "/api/models"])
def test_every_entry_has_a_russian_name_and_description(client: httpx.Client, path: str) -> None:
    en, ru = get(client, path), get(client, path, params={"lang": "ru"})
    assert [e["id"] for e in en] == [r["id"] for r in ru]
    for e, r in zip(en, ru, strict=True):
        assert r["description"] != e["description"] and CYRILLIC.search(r["description"]), r["id"]
        assert r["name"] == e["name"] or CYRILLIC.search(r["name"]), r["id"]  # MLP, XOR stay


@pytest.mark.parametrize("path", ["/api/optimizers", "/api/schedules"])
def test_torch_optimizers_and_schedules_and_their_keywords_speak_russian(
    client: httpx.Client, path: str
) -> None:
    ru = get(client, path, headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
    en = get(client, path)
    for r, e in zip(ru, en, strict=True):
        assert CYRILLIC.search(r["description"]), r["id"]
        for hr, he in zip(r["hyperparameters"], e["hyperparameters"], strict=True):
            assert hr["name"] == he["name"] and hr["default"] == he["default"]
            assert CYRILLIC.search(hr["description"]), (r["id"], hr["name"])


def test_english_is_the_default_and_an_unknown_language_is_refused(client: httpx.Client) -> None:
    assert get(client, "/api/surfaces")[1]["name"] == "Ravine (κ = 50)"
    assert get(client, "/api/surfaces", headers={"Accept-Language": "de-DE"})[1]["name"] == "Ravine (κ = 50)"
    assert client.get("/api/surfaces", params={"lang": "de"}).status_code == 422


def test_every_russian_text_belongs_to_a_catalogue_entry() -> None:
    """No table entry for an id or keyword that does not exist (a renamed one would go stale)."""
    keywords = {h.description for reg in (optimizers.OPTIMIZERS, schedules.SCHEDULES)
                for o in reg.values() for h in o.hyperparameters}
    assert set(i18n.KEYWORDS) <= keywords
    assert set(i18n.OPTIMIZER_DESCRIPTIONS) <= set(optimizers.OPTIMIZERS)
    assert set(i18n.SCHEDULE_DESCRIPTIONS) <= set(schedules.SCHEDULES)
    assert set(i18n.UPDATE_RULES) <= set(optimizers.OPTIMIZERS) | set(schedules.SCHEDULES)
