"""Chromium for the tests that read pages as people see them: headless, through chromedriver,
waited on for what it must show, never for a time."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def _browser_or_skip() -> None:
    missing = [name for name, found in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER)) if not found]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -e '.[test]')")
    if missing:
        why = f"no {', '.join(missing)}: apt-get install chromium chromium-driver fonts-noto-cjk"
        if os.environ.get("CI"):
            pytest.fail(f"the browser tests must run in CI: {why}")
        pytest.skip(why)


def open_chromium(profile: Path, *flags: str, env: dict[str, str] | None = None) -> Any:
    """Headless Chromium through chromedriver, with a profile of its own and no traffic of its own.
    `env`: more of its environment (LANGUAGE=zh_TW: its own interface, date fields among it, in
    that language, as on Linux its language is chosen)."""
    _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", *flags):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    service = Service(str(CHROMEDRIVER), env={**os.environ, **env} if env else None)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(WAIT)
    return driver


# The browser is waited on for what it must show, never for a time: a deadline for a busy machine.
WAIT = 60


def wait_for(driver: Any, condition: Any, what: str) -> Any:
    """condition(driver) once it is true (its value), polled until WAIT seconds have passed."""
    from selenium.webdriver.support.wait import WebDriverWait

    return WebDriverWait(driver, WAIT).until(condition, f"waited {WAIT} s for {what}")


def follow(driver: Any, act: Any, address: str) -> None:
    """act() (a click, a submit) leads to another page: back once that page, at an address holding
    `address`, has replaced the one acted on and is loaded. A click or submit only asks for the
    navigation; the browser starts it later, and webdriver's next command may still see the page before."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.expected_conditions import staleness_of

    before, came_from = driver.find_element(By.TAG_NAME, "html"), driver.current_url
    act()
    wait_for(
        driver,
        lambda d: staleness_of(before)(d) and address in d.current_url
        and d.execute_script("return document.readyState") == "complete",
        f"the page at {address} after {came_from}",
    )  # fmt: skip
