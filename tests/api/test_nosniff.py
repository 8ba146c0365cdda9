"""Every HTTP answer says `X-Content-Type-Options: nosniff`, once: pages, scripts, Plotly, JSON,
errors (the body limit's own 413 too) and a stored CSV, someone's text on this origin."""

import httpx
import pytest

from tests.conftest import Server

CSV = "x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(12))


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("GET", "/", None, 200),
    ("GET", "/networks.html", None, 200),
    ("GET", "/js/networks/main.js", None, 200),
    ("GET", "/css/app.css", None, 200),
    ("GET", "/vendor/plotly.min.js", None, 200),
    ("GET", "/api/health", None, 200),
    ("GET", "/api/runs/0000000000000000", None, 404),
    ("POST", "/api/trajectories", {"surface": "nowhere"}, 422),
    ("POST", "/api/trajectories", {"steps": "x" * 5_000_000}, 413),
])
def test_every_answer_is_nosniff(server: Server, method: str, path: str, body: object, status: int) -> None:
    answer = httpx.request(method, f"{server.url}{path}", json=body, timeout=30)
    assert answer.status_code == status
    assert answer.headers.get_list("x-content-type-options") == ["nosniff"]


def test_a_stored_csv_is_nosniff_once_and_sandboxed(server: Server) -> None:
    stored = httpx.post(f"{server.url}/api/datasets/csv", json={"csv": CSV}, timeout=30).json()
    answer = httpx.get(f"{server.url}/api/datasets/csv/{stored['id']}", timeout=30)
    assert answer.text == CSV
    assert answer.headers.get_list("x-content-type-options") == ["nosniff"]
    assert answer.headers["content-security-policy"] == "sandbox; default-src 'none'"
