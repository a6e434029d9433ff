"""Browser tests: the real server on a free port (a seeded SQLite demo database) and
Debian's Chromium driven by Playwright. Screenshots go to ``artefacts/screenshots``."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from skillsubsidy.api.app import create_app
from skillsubsidy.demo.seed import Demo, seed
from skillsubsidy.domain.dates import china_today
from skillsubsidy.store.db import Database

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "artefacts" / "screenshots"
# as the machine's notes advise: no sandbox as root, and no background calls to the network
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Clock:
    """The server's calendar, which a test may move on (a notice runs five days)."""

    def __init__(self) -> None:
        self.today = china_today()

    def __call__(self) -> dt.date:
        return self.today


@pytest.fixture(scope="session")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, clock: Clock
) -> Iterator[tuple[str, Demo, Database]]:
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('browser') / 'demo.db'}")
    db.upgrade()
    made = seed(db)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(db, clock=clock), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", made, db
    server.should_exit = True
    thread.join(timeout=10)
    db.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not os.access(CHROMIUM, os.X_OK):
        message = f"{CHROMIUM} not installed (Debian's chromium package)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def shots() -> Path:
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    return SHOTS
