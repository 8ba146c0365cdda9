"""Live classroom rooms in real Chromium, each person in a browser context of their own (their
own cookie, so their own vote): the teacher presents (code, QR code and join link in a modal
dialog), students follow the teacher's scene through the link decoder with their controls
read-only, vote in a poll, see the tally once revealed, explore on their own and follow
again; on a phone the student sees the map, the playhead and the poll; the networks page
follows the teacher's training run; the poll form takes the server's limits; the teacher ends
the room and its students' pages say so. Screenshots go to test-artifacts/ to be looked at."""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.browser.conftest import Lab, api_get, axe_violations, offline_context
from tests.browser.test_networks import drawn_points, preview_points, two_clusters
from tests.browser.test_networks import frame as networks_frame
from tests.browser.test_russian import english_words

RACE = "?surface=ravine&steps=150&r=sgd,lr=0.02&r=sgd,lr=0.02,momentum=0.9&r=adam,lr=0.3&focus=1&t=0"
SMALL_NET = "?n=200&hidden=16&epochs=15&res=15&ls=0"  # a run that takes well under a second
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
WAIT = 20_000  # ms: a hang guard, not a timing


@pytest.fixture
def person(browser: Any, server: str) -> Iterator[Callable[..., Lab]]:
    """`person(**context_options)`: a page in a browser context of its own (its own cookie),
    offline like every page of the suite; console errors fail the test."""
    made: list[tuple[Any, Lab]] = []

    def make(**options: Any) -> Lab:
        ctx = offline_context(browser, **options)
        lab = Lab(ctx.new_page(), server)
        # A following page recomputes as the teacher changes things; when a change comes while
        # the last one's requests still compute on the server (an aborted request runs to its
        # end there), this client's computation slots can all be taken: the 429 is asked
        # again by the page itself (explorer/compute.js), and the browser logs the refusal.
        lab.allowed.append("status of 429")
        made.append((ctx, lab))
        return lab

    try:
        yield make
        for ctx, lab in made:
            assert not ctx.outside, ctx.outside
            unexpected = [e for e in lab.errors if not any(a in e for a in lab.allowed)]
            assert not unexpected, unexpected
    finally:
        for ctx, _ in made:
            ctx.close()


def listen(lab: Lab, fn: Callable[[str], None], event: str) -> None:
    """Call `fn(text)` for every frame of the page's room sockets (`framesent` or `framereceived`)."""

    def opened(ws: Any) -> None:
        if "/api/rooms/" in ws.url:
            ws.on(event, fn)

    lab.page.on("websocket", opened)


def room(lab: Lab, hook: str = "descent") -> dict[str, Any]:
    return dict(lab.page.evaluate(f"() => JSON.parse(JSON.stringify(window.{hook}.state.runtime.room))"))


def present(teacher: Lab) -> str:
    """Press Present: the dialog shows the room's code, its QR code and its join link; Escape
    closes it and gives the focus back to the button. Returns the code."""
    page = teacher.page
    page.click("#present-btn")
    page.wait_for_selector("dialog.present[open]", timeout=WAIT)
    code = page.inner_text(".present-code")
    assert len(code) == 6 and not set(code) & set("0O1I"), code
    made = room(teacher)
    assert made["role"] == "teacher" and made["code"] == code
    assert page.inner_text(".present-url") == made["joinUrl"] == f"{teacher.server}/?room={code}"
    # The QR code is the server's (loaded from loopback, not a third-party service) and drawn.
    page.wait_for_function(
        "() => { const i = document.querySelector('.present-qr'); return i.complete && i.naturalWidth > 0; }",
        timeout=WAIT,
    )
    assert page.get_attribute(".present-qr", "src") == f"/api/rooms/{code}/qr.svg"
    assert page.evaluate("document.activeElement.dataset.role") == "present-close"
    return code


def close_dialog(lab: Lab) -> None:
    lab.page.keyboard.press("Escape")
    lab.page.wait_for_selector("dialog.present", state="hidden", timeout=WAIT)


def join(student: Lab, code: str, query: str = "") -> None:
    """Open the link a student scans, and wait until the room's first scene is in."""
    student.page.goto(f"{student.server}/?room={code}{query}")
    student.page.wait_for_function("window.descent && window.descent.ready === true", timeout=WAIT)
    student.page.wait_for_function(
        "() => (window.descent.state.runtime.room || {}).link === 'live'", timeout=WAIT
    )


def follows(student: Lab, teacher: Lab) -> float:
    """Wait until the student's scene is the teacher's (but for how each page looks), then until
    its paths are drawn; the seconds it took for the scene (printed, never asserted)."""
    want = teacher.scene()
    keep = ("lang", "proj", "cb", "live")
    body = {k: v for k, v in want.items() if k not in keep}
    start = time.monotonic()
    student.page.wait_for_function(
        """(want) => { const s = window.descent.state.scene;
            return Object.entries(want).every(([k, v]) => JSON.stringify(s[k]) === JSON.stringify(v)); }""",
        arg=body,
        timeout=WAIT,
    )
    took = time.monotonic() - start
    student.wait_computed()
    return took


def test_the_student_follows_the_teachers_surface_lr_and_playhead(person: Callable[..., Lab]) -> None:
    teacher, student = person(), person()
    sent: list[tuple[float, dict[str, Any]]] = []  # (when it was seen here, message) the teacher sent
    received: list[dict[str, Any]] = []  # what the student's page received
    listen(teacher, lambda text: sent.append((time.monotonic(), json.loads(text))), "framesent")
    listen(student, lambda text: received.append(json.loads(text)), "framereceived")
    sockets: list[str] = []  # the URLs of the teacher's sockets
    teacher.page.on("websocket", lambda ws: sockets.append(ws.url))
    teacher.open(RACE)
    code = present(teacher)
    # The teacher's key is offered as a subprotocol, never put in a URL (a proxy logs those).
    key = json.loads(teacher.page.evaluate("sessionStorage.getItem('descent.room')"))["key"]
    assert key and any(f"/api/rooms/{code}/live" in url for url in sockets), sockets
    assert not any("key" in url or key in url for url in sockets), sockets
    close_dialog(teacher)
    assert teacher.page.evaluate("document.activeElement.id") == "present-btn"
    join(student, code)
    follows(student, teacher)
    student.page.evaluate("window.descent.flushUrl()")  # the URL lags the scene by design
    assert student.page.evaluate("location.search") == f"?room={code}"
    teacher.page.wait_for_function(
        """() => window.descent.state.runtime.room.students === 1
              && document.querySelector('#room-bar [data-role="students"]').textContent === 'students in the room: 1'""",
        timeout=WAIT,
    )

    # The teacher changes the surface and an lr: the student's page follows and draws the
    # same paths (computed by the same torch optimizers from the same scene).
    teacher.page.select_option("#surface-select", "rosenbrock")
    lr = teacher.page.locator('[data-card="1"] input[data-name="lr"][data-role="num"]')
    lr.fill("0.0005")
    lr.dispatch_event("change")
    teacher.wait_computed()
    assert teacher.scene()["surface"] == "rosenbrock" and teacher.scene()["racers"][1]["hp"]["lr"] == 0.0005
    took = follows(student, teacher)
    print(f"student followed the surface and lr change after {took * 1000:.0f} ms")
    assert student.ghost(1) == teacher.ghost(1)
    assert student.page.inner_text("#caption") == teacher.page.inner_text("#caption")

    # Its controls are read-only: inert, and the keyboard's shortcuts do not move the playhead.
    assert student.page.evaluate(
        "document.getElementById('sidebar').inert && document.getElementById('transport').inert"
    )
    assert student.page.evaluate("document.body.classList.contains('following')")
    student.page.keyboard.press("End")
    student.frame()
    assert student.scene()["t"] == 0
    # How the page looks stays the student's own: Russian here, English on the projector.
    student.page.click("#lang-btn")
    student.page.wait_for_function("() => window.descent.state.scene.lang === 'ru'", timeout=WAIT)
    student.page.evaluate("window.descent.flushUrl()")  # the URL lags the scene by design
    assert student.page.evaluate("location.search") == f"?room={code}&lang=ru"

    # Playback (at 8×: a loaded machine draws few frames): the teacher plays to the end; the
    # student's page plays along and ends on the same step.
    teacher.page.select_option("#speed-select", "8")
    student.page.wait_for_function("() => window.descent.state.scene.speed === 8", timeout=WAIT)
    started = time.monotonic()
    teacher.page.click("#play-btn")
    student.page.wait_for_function("() => window.descent.state.runtime.playing === true", timeout=WAIT)
    teacher.page.wait_for_function(
        "() => !window.descent.state.runtime.playing && window.descent.state.scene.t > 0", timeout=3 * WAIT
    )
    end = teacher.scene()["t"]
    student.page.wait_for_function(
        "(end) => !window.descent.state.runtime.playing && window.descent.state.scene.t === end",
        arg=end,
        timeout=3 * WAIT,
    )
    student.frame()
    teacher.frame()
    assert student.head(1) == teacher.head(1)
    assert student.scene()["lang"] == "ru" and teacher.scene()["lang"] == "en"
    # While it played, the teacher's page sent at most one scene per 100 ms (counted from
    # before Play to after the end, so the bound only errs on the generous side), the
    # playhead never going back, the last one at the end and paused.
    played = [m["scene"] for at, m in sent if at >= started and m["type"] == "scene"]
    assert 2 <= len(played) <= (time.monotonic() - started) / 0.1 + 2
    steps = [m["t"] for m in played]
    assert steps == sorted(steps) and steps[-1] == end and played[-1]["playing"] is False
    # The student received the room's events in order, the last scene the teacher's last.
    seqs = [m["seq"] for m in received if "seq" in m]
    assert seqs == sorted(set(seqs))
    assert [m["scene"] for m in received if m["type"] == "scene"][-1] == played[-1]


def test_a_poll_on_a_phone_then_explore_on_my_own_and_follow_again(person: Callable[..., Lab]) -> None:
    teacher, phone, laptop = person(), person(**PHONE), person()
    teacher.open(RACE)
    code = present(teacher)
    teacher.shot("room-teacher-present.png")
    close_dialog(teacher)
    join(phone, code)
    join(laptop, code)
    follows(phone, teacher)
    teacher.page.wait_for_function("() => window.descent.state.runtime.room.students === 2", timeout=WAIT)

    # The teacher asks: by default which racer reaches the minimum first, the racers as options.
    most = api_get(teacher.server, "/api/limits")["rooms"]["max_poll_options"]
    teacher.page.wait_for_function("() => window.descent.state.runtime.room.limits !== null", timeout=WAIT)
    teacher.page.click('#room-bar [data-role="room-poll"]')
    assert teacher.page.evaluate("document.activeElement.dataset.role") == "poll-question"
    assert (
        teacher.page.input_value('[data-role="poll-question"]')
        == "Which optimizer reaches the minimum first?"
    )
    options = teacher.page.input_value('[data-role="poll-options"]').split("\n")
    assert options == ["1. SGD(lr=0.02)", "2. SGD(lr=0.02, momentum=0.9)", "3. Adam(lr=0.3)"]
    # The form allows as many options as the server does, and says so beyond.
    teacher.page.fill('[data-role="poll-options"]', "\n".join(str(i) for i in range(most + 1)))
    teacher.page.click('[data-role="poll-send"]')
    assert teacher.page.inner_text("#room-bar .poll-form .error-text") == f"At most {most} options."
    teacher.page.fill('[data-role="poll-options"]', "\n".join(options))
    teacher.page.click('[data-role="poll-send"]')
    assert teacher.page.evaluate("document.activeElement.dataset.role") == "poll-reveal"

    # On the phone: the map, the playhead and the poll, all on the screen; nothing else.
    page = phone.page
    page.wait_for_selector("#room-bar [data-vote='2']", timeout=WAIT)
    # A new poll is announced (the toast is a status region), for screen readers too.
    toast = "(text) => document.getElementById('toast').textContent === text"
    page.wait_for_function(toast, arg="New poll: Which optimizer reaches the minimum first?", timeout=WAIT)
    assert page.get_attribute("#toast", "role") == "status"
    for selector in (".contour-panel", "#scrub", "#room-bar .poll"):
        box = page.locator(selector).bounding_box()
        assert (
            box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["viewport"]["height"] + 1
        ), (selector, box)
    assert page.locator(".racers-card").is_hidden() and page.locator(".side-panel").is_hidden()
    assert all(page.locator(f"#room-bar [data-vote='{i}']").bounding_box()["height"] >= 44 for i in range(3))
    phone.shot("room-student-phone-poll.png")

    # Votes arrive at the teacher as they are given; a student's new vote replaces the old.
    page.tap("#room-bar [data-vote='2']")
    teacher.page.wait_for_function(
        "() => JSON.stringify(window.descent.state.runtime.room.tally) === '[0,0,1]'", timeout=WAIT
    )
    page.wait_for_selector("#room-bar [data-vote='2'][aria-pressed='true']", timeout=WAIT)
    page.tap("#room-bar [data-vote='1']")
    teacher.page.wait_for_function(
        "() => JSON.stringify(window.descent.state.runtime.room.tally) === '[0,1,0]'", timeout=WAIT
    )
    laptop.page.click("#room-bar [data-vote='1']")
    teacher.page.wait_for_function(
        "() => JSON.stringify(window.descent.state.runtime.room.tally) === '[0,2,0]'", timeout=WAIT
    )
    assert laptop.page.locator("#room-bar .tally").count() == 0  # students see no tally before the reveal
    teacher.page.wait_for_function(
        "() => document.querySelector('#room-bar .tally-count') !== null", timeout=WAIT
    )
    assert teacher.page.eval_on_selector_all(
        "#room-bar .tally-count", "els => els.map(e => e.textContent)"
    ) == ["0 (0%)", "2 (100%)", "0 (0%)"]

    # Reveal: the tally as a bar chart on both sides, the same counts as the server's.
    teacher.page.click('#room-bar [data-role="poll-reveal"]')
    for lab in (phone, laptop):
        lab.page.wait_for_selector("#room-bar .tally", timeout=WAIT)
        counts = lab.page.eval_on_selector_all("#room-bar .tally-count", "els => els.map(e => e.textContent)")
        assert counts == ["0 (0%)", "2 (100%)", "0 (0%)"]
    laptop.page.wait_for_function(
        toast, arg="The tally is shown: Which optimizer reaches the minimum first?", timeout=WAIT
    )
    widths = page.eval_on_selector_all(
        "#room-bar .tally-bar", "els => els.map(e => e.getBoundingClientRect().width)"
    )
    assert widths[0] == widths[2] == 0 and widths[1] > 0
    assert api_get(teacher.server, f"/api/rooms/{code}")["poll"]["counts"] == [0, 2, 0]
    assert "2. SGD(lr=0.02, momentum=0.9)" in page.inner_text('#room-bar [data-role="my-vote"]')
    phone.shot("room-student-phone-tally.png")
    teacher.shot("room-teacher-tally.png")
    for lab in (teacher, phone):
        found = [f"{v['id']}: {v['nodes']}" for v in axe_violations(lab.page)]
        assert not found, found

    # Explore on my own: the laptop's controls are its own; the teacher's changes wait.
    laptop.page.click('#room-bar [data-role="room-detach"]')
    laptop.page.wait_for_function("() => !document.getElementById('sidebar').inert", timeout=WAIT)
    laptop.page.select_option("#surface-select", "quadratic")
    laptop.wait_computed()
    laptop.page.evaluate("window.descent.flushUrl()")
    assert "surface=quadratic" in laptop.page.evaluate("location.search")
    teacher.page.select_option("#surface-select", "himmelblau")
    teacher.wait_computed()
    follows(phone, teacher)  # the phone still follows...
    assert laptop.scene()["surface"] == "quadratic"  # ...the laptop explores
    # Follow again: the teacher's latest scene at once, read-only again.
    laptop.page.click('#room-bar [data-role="room-follow"]')
    follows(laptop, teacher)
    assert laptop.page.evaluate("document.getElementById('sidebar').inert")
    laptop.page.evaluate("window.descent.flushUrl()")  # the URL lags the scene by design
    assert laptop.page.evaluate("location.search") == f"?room={code}"


def test_the_networks_page_follows_the_teachers_training_run(person: Callable[..., Lab]) -> None:
    teacher, student = person(), person()
    teacher.open(RACE)
    code = present(teacher)
    close_dialog(teacher)
    join(student, code)
    # The teacher goes to the networks page in the same tab: it goes on presenting there, and
    # the student's page goes along.
    teacher.page.goto(f"{teacher.server}/networks.html{SMALL_NET}")
    teacher.page.wait_for_function("window.networks && window.networks.ready === true", timeout=WAIT)
    assert room(teacher, "networks")["code"] == code
    student.page.wait_for_url(f"**/networks.html?room={code}", timeout=WAIT)
    student.page.wait_for_function("window.networks && window.networks.ready === true", timeout=WAIT)
    student.page.wait_for_function(
        "() => window.networks.state.scene.n === 200 && window.networks.state.scene.epochs === 15",
        timeout=WAIT,
    )
    student.page.wait_for_function("() => document.getElementById('sidebar').inert", timeout=WAIT)

    teacher.page.click("#train-btn")
    teacher.page.wait_for_function(
        "() => { const r = window.networks.state.runtime.run; return r && r.summary; }", timeout=60_000
    )
    run_id = teacher.page.evaluate("window.networks.state.runtime.run.id")
    # The student's page watches the same run's stream, from its first step to its end.
    student.page.wait_for_function(
        "(id) => { const r = window.networks.state.runtime.run; return r && r.id === id && r.summary; }",
        arg=run_id,
        timeout=60_000,
    )
    networks_frame(student)
    networks_frame(teacher)
    read = "() => { const r = window.networks.state.runtime.run; return [r.epochs.trainLoss, r.steps.loss.length, r.status]; }"
    assert student.page.evaluate(read) == teacher.page.evaluate(read)
    stored = api_get(teacher.server, f"/api/runs/{run_id}")
    assert student.page.evaluate("window.networks.state.runtime.run.status") == stored["status"]
    curves = student.page.evaluate(
        "() => document.getElementById('curves').data.map((t) => (t.y || []).length)"
    )
    assert max(curves) > 0
    student.shot("room-student-networks.png")


def test_joining_by_typing_the_code_in_russian_late_with_the_keyboard(person: Callable[..., Lab]) -> None:
    teacher, late = person(), person()
    teacher.open(RACE + "&lang=ru")
    teacher.page.focus("#present-btn")
    teacher.page.keyboard.press("Enter")
    teacher.page.wait_for_selector("dialog.present[open]", timeout=WAIT)
    code = room(teacher)["code"]
    # Tab stays inside the modal dialog.
    for _ in range(4):
        teacher.page.keyboard.press("Tab")
        assert teacher.page.evaluate("document.activeElement.closest('dialog') !== null")
    close_dialog(teacher)
    teacher.page.click('#room-bar [data-role="room-poll"]')
    teacher.page.click('[data-role="poll-send"]')

    # A late student types the code (lower case, with a space) on the Russian page.
    late.open("?lang=ru", settle=False)
    page = late.page
    page.focus("#join-btn")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "join-code"
    page.keyboard.type("0OO1II")
    page.keyboard.press("Enter")
    assert page.get_attribute("#join-code", "aria-invalid") == "true"
    assert "без 0, O, 1 и I" in page.inner_text("#join-error")
    page.fill("#join-code", f"{code[:3].lower()} {code[3:].lower()}")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/?room={code}&lang=ru", timeout=WAIT)
    page.wait_for_function("window.descent && window.descent.ready === true", timeout=WAIT)
    # The late joiner gets the current scene and the open poll at once.
    follows(late, teacher)
    page.wait_for_selector("#room-bar [data-vote='0']", timeout=WAIT)
    assert page.inner_text("#room-bar .poll-question") == "Какой оптимизатор первым дойдёт до минимума?"
    assert "Вы следите за учителем" in page.inner_text("#room-bar")
    page.focus("#room-bar [data-vote='0']")
    page.keyboard.press("Enter")
    teacher.page.wait_for_function(
        "() => JSON.stringify(window.descent.state.runtime.room.tally) === '[1,0,0]'", timeout=WAIT
    )
    assert english_words(late) == []
    found = [f"{v['id']}: {v['nodes']}" for v in axe_violations(page)]
    assert not found, found

    # The teacher ends the room: the student's page says so and is the student's again, and
    # the server has no such room any more; a code nobody opened says so too.
    teacher.page.click('#room-bar [data-role="room-end"]')
    teacher.page.wait_for_selector("#room-bar", state="hidden", timeout=WAIT)
    page.wait_for_function(
        "(text) => document.getElementById('room-bar').textContent.includes(text)",
        arg=f"Урок в комнате {code} окончен.",
        timeout=WAIT,
    )
    assert room(late)["lost"] == 4410
    assert not page.evaluate("document.getElementById('sidebar').inert")
    with pytest.raises(urllib.error.HTTPError) as ended:
        urllib.request.urlopen(f"{teacher.server}/api/rooms/{code}", timeout=30)
    assert ended.value.code == 404
    gone = "ZZZZZZ"
    page.goto(f"{late.server}/?room={gone}&lang=ru")
    page.wait_for_function(
        "() => window.descent && (window.descent.state.runtime.room || {}).link === 'lost'", timeout=WAIT
    )
    page.wait_for_function(
        "(text) => document.getElementById('room-bar').textContent.includes(text)",
        arg=f"Комнаты {gone} нет",
        timeout=WAIT,
    )
    assert not page.evaluate("document.getElementById('sidebar').inert")
    page.click('#room-bar [data-role="room-leave"]')
    page.wait_for_selector("#room-bar", state="hidden", timeout=WAIT)


def test_a_locked_store_takes_only_the_rooms_scene_and_codes_are_read_as_the_server_writes_them(
    person: Callable[..., Lab],
) -> None:
    """The pure parts, run as the browser runs them: while locked, the page's own writes change
    only the kept keys and the URL is the room's; a typed code is normalised or refused."""
    lab = person()
    lab.page.goto(f"{lab.server}/js/shared/store.js")
    result = lab.page.evaluate(
        """async () => {
            const { createStore } = await import('/js/shared/store.js');
            const { roomCode, roomQuery } = await import('/js/shared/classroom.js');
            const seen = [];
            const store = createStore({ surface: 'ravine', t: 0, lang: 'en' }, {}, (s) => `surface=${s.surface}&t=${s.t}`);
            store.subscribe((keys) => seen.push([...keys].sort().join(',')));
            store.lockScene({ keep: ['lang', 't'], query: (s) => roomQuery('K7Q2XM', s) });
            const lockedUrl = location.search;
            store.setScene({ surface: 'rosenbrock', t: 5, lang: 'ru' });
            const own = { ...store.state.scene };
            store.setScene((s) => ({ surface: s.surface + 'x' }));
            store.setScene({ surface: 'himmelblau' }, { remote: true });
            store.flushUrl();
            const roomUrl = location.search;
            store.lockScene(null);
            store.setScene({ surface: 'quadratic' });
            store.flushUrl();
            return { own, scene: store.state.scene, seen, lockedUrl, roomUrl, freeUrl: location.search,
                     codes: ['k7q 2xm', 'K7Q-2XM', 'K7Q2X', 'K7Q2XO', 'K7Q2X1', 'K7Q2XMM', ''].map(roomCode) };
        }"""
    )
    assert result["own"] == {"surface": "ravine", "t": 5, "lang": "ru"}
    assert result["scene"] == {"surface": "quadratic", "t": 5, "lang": "ru"}
    assert result["seen"] == ["lang,t", "surface", "surface"]
    assert result["lockedUrl"] == "?room=K7Q2XM"
    assert result["roomUrl"] == "?room=K7Q2XM&lang=ru"
    assert result["freeUrl"] == "?surface=quadratic&t=5"
    assert result["codes"] == ["K7Q2XM", "K7Q2XM", None, None, None, None, None]


def test_one_toast_at_a_time_each_for_its_full_time(person: Callable[..., Lab]) -> None:
    """The room bar and the top bar share the page's one toast: a message shown just before
    another's timer ran out stays for its own 3.5 s (each bar had its own timer, and the first
    one's cleared the second message after half a second)."""
    teacher = person()
    teacher.open("?surface=quadratic")
    present(teacher)
    page = teacher.page
    page.clock.install()
    page.clock.pause_at(page.evaluate("Date.now()") + 1)  # the page's time moves only when the test says
    said = "(not) => ![null, not].includes(window.descent.state.runtime.toast)"
    page.click('[data-role="present-copy"]')  # the room bar's toast (copied, or the link shown)
    page.wait_for_function(said, arg=None, polling=50, timeout=WAIT)
    page.clock.run_for(100)  # a frame or more: the toast is drawn
    first = page.inner_text("#toast")
    assert page.is_visible("#toast") and first
    page.clock.run_for(2900)
    close_dialog(teacher)
    page.click("#share-btn")  # the top bar's toast, 3 s after the first
    page.wait_for_function(said, arg=first, polling=50, timeout=WAIT)
    page.clock.run_for(100)
    second = page.inner_text("#toast")
    assert second and second != first
    page.clock.run_for(900)  # past the first message's 3.5 s, within the second's
    assert page.is_visible("#toast") and page.inner_text("#toast") == second
    page.clock.run_for(2600)  # past the second's
    assert not page.is_visible("#toast")


def test_students_take_the_teachers_csv_by_its_id_early_or_late(person: Callable[..., Lab]) -> None:
    """The teacher's CSV reaches a following student's page by its stored id (a room's message
    carries no text): the same text in the box, the same samples drawn, a Train that would
    send the same CSV; a student who joins after the teacher trained watches that run on it."""
    teacher, early, late = person(), person(), person()
    teacher.open(RACE)
    code = present(teacher)
    close_dialog(teacher)
    join(early, code)
    sent: list[str] = []  # the teacher's room messages on the networks page
    listen(teacher, lambda text: sent.append(text), "framesent")
    teacher.page.goto(f"{teacher.server}/networks.html?ds=csv&hidden=16&epochs=15&ls=0")
    teacher.page.wait_for_function("window.networks && window.networks.ready === true", timeout=WAIT)
    early.page.wait_for_url(f"**/networks.html?room={code}", timeout=WAIT)
    early.page.wait_for_function("() => window.networks && window.networks.state.scene.ds === 'csv'", timeout=WAIT)
    awaited = early.page.evaluate("async () => (await import('/js/networks/strings.js')).STRINGS.en.csv_awaited")
    early.page.wait_for_function(  # not "paste a CSV on the left": the student's controls follow the teacher
        "(text) => document.getElementById('data-note').textContent === text", arg=awaited, timeout=WAIT
    )
    text = two_clusters(shift=0.25)
    teacher.page.fill('textarea[data-role="csv"]', text)
    csvid = hashlib.sha256(text.encode()).hexdigest()
    teacher.page.wait_for_function("(id) => window.networks.state.scene.csvid === id", arg=csvid, timeout=WAIT)

    points = preview_points(teacher.server, text)
    would_send = """async () => { const { runBody } = await import('/js/networks/spec.js');
        const { state } = window.networks; return runBody(state.scene, state.runtime.catalogue).dataset; }"""
    early.page.wait_for_function("(text) => window.networks.state.scene.csv === text", arg=text, timeout=WAIT)
    assert early.page.evaluate("window.networks.state.scene.csvid") == csvid
    assert early.page.input_value('textarea[data-role="csv"]') == text
    assert drawn_points(early) == drawn_points(teacher) == points
    assert early.page.evaluate(would_send) == teacher.page.evaluate(would_send) == {"name": "csv", "csv": text}
    assert any(f"csvid={csvid}" in frame for frame in sent)
    assert all(len(frame.encode()) < 2048 and "x0,x1" not in frame for frame in sent)  # the id, not the text

    teacher.page.click("#train-btn")
    teacher.page.wait_for_function(
        "() => { const r = window.networks.state.runtime.run; return r && r.summary; }", timeout=60_000
    )
    run_id = teacher.page.evaluate("window.networks.state.runtime.run.id")
    late.page.goto(f"{late.server}/networks.html?room={code}")  # the link a student scans, on this page
    late.page.wait_for_function(
        "(id) => { const r = window.networks.state.runtime.run; return r && r.id === id && r.summary; }",
        arg=run_id, timeout=60_000,
    )
    assert late.page.evaluate("window.networks.state.scene.csv") == text
    assert late.page.evaluate("window.networks.state.runtime.run.body.dataset") == {"name": "csv", "csv": text}
    late.page.wait_for_selector("#replay:not([hidden])", timeout=WAIT)  # the run's boundary over these very samples
    networks_frame(late)
    late.shot("room-student-csv.png")


    # A student whose first fetch of the CSV fails (a 503 on the way): the data panel offers
    # Retry, and once the text is in, that student watches the teacher's run as well.
    unlucky = person()
    unlucky.allowed.append("503")
    failures = [1]

    def fail_once(route: Any) -> None:
        if failures:
            failures.pop()
            route.fulfill(status=503, json={"detail": "the server is restarting"})
        else:
            route.continue_()

    unlucky.page.route(f"**/api/datasets/csv/{csvid}", fail_once)
    unlucky.page.goto(f"{unlucky.server}/networks.html?room={code}")
    unlucky.page.wait_for_selector('#data-note [data-role="retry"]', timeout=WAIT)
    assert unlucky.page.evaluate("window.networks.state.runtime.run") is None
    unlucky.page.click('#data-note [data-role="retry"]')
    unlucky.page.wait_for_function(
        "(id) => { const r = window.networks.state.runtime.run; return r && r.id === id && r.summary; }",
        arg=run_id, timeout=60_000,
    )
    assert unlucky.page.evaluate("window.networks.state.scene.csv") == text
