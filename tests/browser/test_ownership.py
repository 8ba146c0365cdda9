"""A run someone else started is read-only on the page: the page reads it by id (share links and
lessons keep working), holds no key for it, and its cancel is refused by the server; a run the
page started itself it can cancel, with the key it kept."""

from typing import Any

from tests.browser.conftest import ENDLESS, Lab, api_post


def test_someone_elses_run_is_read_only_and_ones_own_can_be_cancelled(lab: Lab) -> None:
    lab.allowed.append("403")  # the refused cancel is logged by the browser
    # Runs that last until cancelled: a 10,000-step run on the quadratic (~1.5 s) once ended before
    # the page's cancel arrived, with the explorer loading beside two runs.
    theirs = api_post(lab.server, "/api/runs", ENDLESS)  # another client: the key stays with it
    lab.open()
    answer: dict[str, Any] = lab.page.evaluate(
        """async ([id, body]) => {
            const api = await import('/js/shared/api.js');
            const read = await fetch(`/api/runs/${id}`);
            let refused = null;
            try { await api.cancelRun(id); } catch (err) { refused = [err.status, err.message]; }
            const mine = await api.createRun(body);
            const stored = api.ownKey(mine.id);
            const cancelled = await api.cancelRun(mine.id);
            return {read: read.status, key: api.ownKey(id), refused, mineKey: stored,
                    handedOn: 'key' in mine, cancelled: cancelled.status};
        }""",
        [theirs["id"], ENDLESS],
    )
    assert answer["read"] == 200 and answer["key"] is None
    assert answer["refused"][0] == 403 and "X-Run-Key" in answer["refused"][1]
    assert isinstance(answer["mineKey"], str) and len(answer["mineKey"]) >= 32
    assert answer["handedOn"] is False and answer["cancelled"] == "cancelled"
    listed = lab.page.evaluate("async () => (await (await fetch('/api/runs')).json()).runs.map(r => r.id)")
    assert theirs["id"] not in listed  # the page lists its own runs only
    owner_cancel = lab.page.evaluate(
        "async ([id, key]) => (await fetch(`/api/runs/${id}`, {method: 'DELETE', "
        "headers: {'X-Run-Key': key}})).status", [theirs["id"], theirs["key"]])
    assert owner_cancel == 200  # its owner's key does it
