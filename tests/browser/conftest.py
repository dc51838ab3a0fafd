"""Fixtures of the browser checks: the gateway's base URL from the
environment (TENSORWIRE_HTTP, as .ci/run sets it), a headless Chromium driven
by Selenium with its network and console logs on, and where screenshots go."""

import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("TENSORWIRE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("TENSORWIRE_CHROMEDRIVER", "/usr/bin/chromedriver")
# The API key of the `keyed_base` server.
KEY = "browser-test-key"


@pytest.fixture(scope="session")
def base():
    url = os.environ.get("TENSORWIRE_HTTP")
    if not url:
        pytest.fail("TENSORWIRE_HTTP (base URL of a running gateway) is not set")
    return url.rstrip("/")


@pytest.fixture(scope="session")
def shots():
    """Where screenshots go (target/browser, or TENSORWIRE_SCREENSHOTS)."""
    out = Path(os.environ.get("TENSORWIRE_SCREENSHOTS", ROOT / "target" / "browser"))
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="session")
def files():
    with tempfile.TemporaryDirectory(prefix="tensorwire-browser-") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="session")
def driver():
    profile = tempfile.TemporaryDirectory(prefix="tensorwire-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        f"--user-data-dir={profile.name}",
    ]:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    chrome = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    chrome.set_page_load_timeout(30)
    try:
        yield chrome
    finally:
        chrome.quit()
        profile.cleanup()


# Schemes that leave the browser. Chromium's own pages (chrome://,
# chrome-extension://) and data:/blob: URLs never reach the network.
NETWORK_SCHEMES = ("http", "https", "ws", "wss", "ftp")


class Network:
    """The URLs the browser requested, read from its performance log."""

    def __init__(self, driver):
        self.driver = driver
        self.urls = []

    def drain(self):
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                self.urls.append(message["params"]["request"]["url"])
        return self.urls

    def other_origins(self, base):
        origin = urlsplit(base)[:2]
        return [
            url
            for url in self.drain()
            if urlsplit(url).scheme in NETWORK_SCHEMES and urlsplit(url)[:2] != origin
        ]


@pytest.fixture()
def network(driver):
    log = Network(driver)
    log.drain()
    log.urls.clear()
    return log


@pytest.fixture()
def console(driver):
    """Reads the console; call it at the end of a test to get its errors."""
    driver.get_log("browser")

    def errors():
        return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]

    return errors


@pytest.fixture(scope="session")
def keyed_base():
    """A second server of the binary named by TENSORWIRE_BIN, with one API
    key (its value is the fixture's KEY), for the playground's key field."""
    binary = os.environ.get("TENSORWIRE_BIN")
    if not binary:
        pytest.fail("TENSORWIRE_BIN (the tensorwire binary) is not set")
    with tempfile.TemporaryDirectory(prefix="tensorwire-keyed-") as tmp:
        log_path = Path(tmp) / "server.log"
        with open(log_path, "w") as log:
            server = subprocess.Popen(
                [
                    binary,
                    "serve",
                    "--grpc-addr",
                    "127.0.0.1:0",
                    "--http-addr",
                    "127.0.0.1:0",
                    "--api-key",
                    KEY,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 30
            address = None
            while address is None and time.monotonic() < deadline:
                found = re.search(r"http_addr=([0-9.:]+)", log_path.read_text())
                address = found and found.group(1)
                if server.poll() is not None:
                    pytest.fail(f"the keyed server exited: {log_path.read_text()}")
                time.sleep(0.1)
            if address is None:
                pytest.fail(f"the keyed server did not start: {log_path.read_text()}")
            yield f"http://{address}"
        finally:
            server.terminate()
            server.wait(timeout=30)
