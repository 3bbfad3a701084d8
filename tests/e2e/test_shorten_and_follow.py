"""A person's path through the pages, in a real headless Chromium with JavaScript off."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

pytestmark = pytest.mark.e2e


def _wait_for_text(driver: webdriver.Chrome, url: str, selector: str, expected: str) -> None:
    deadline = time.monotonic() + 20
    seen = ""
    while time.monotonic() < deadline:
        driver.get(url)
        seen = driver.find_element(By.CSS_SELECTOR, selector).text.strip()
        if seen == expected:
            return
        time.sleep(0.3)
    raise AssertionError(f"{selector} on {url} showed {seen!r}, expected {expected!r}")


def _replaced(element: WebElement) -> Callable[[webdriver.Chrome], bool]:
    """staleness_of, and also what Chromium answers when the check lands mid-navigation: "Node
    with given id does not belong to the document" (an unknown error, not a stale element)."""

    def check(_driver: webdriver.Chrome) -> bool:
        try:
            element.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" not in str(error):
                raise
            return True
        return False

    return check


def _submit(driver: webdriver.Chrome, form: WebElement) -> None:
    """Click submit and wait until the answer page replaced the form's page."""
    form.find_element(By.CSS_SELECTOR, "[type=submit]").click()
    WebDriverWait(driver, 20).until(_replaced(form))


# --accent in web/static/style.css, as the browser computes it (rgb() or rgba()).
ACCENT = "47, 111, 221"


def test_shorten_follow_and_see_the_click(
    browser: webdriver.Chrome, live_base_url: str, landing_url: str
) -> None:
    browser.get(f"{live_base_url}/")
    form = browser.find_element(By.CSS_SELECTOR, "form#shorten")
    form.find_element(By.NAME, "url").send_keys(landing_url)
    _submit(browser, form)

    short_url = browser.find_element(By.CSS_SELECTOR, "#short-url").text.strip()
    assert short_url.startswith(f"{live_base_url}/")
    assert browser.find_element(By.CSS_SELECTOR, "#manage-token").text.strip()
    code = short_url.rsplit("/", 1)[1]

    browser.get(short_url)
    assert browser.current_url == landing_url
    assert browser.find_element(By.ID, "landed").text == "You have arrived"

    stats_page = f"{live_base_url}/s/{code}"
    _wait_for_text(browser, stats_page, "#total-clicks", "1")
    chart = browser.find_element(By.CSS_SELECTOR, "svg#daily-chart")
    assert chart.is_displayed()
    # The inline SVG is styled by style.css, which the strict CSP must still admit.
    bar = chart.find_element(By.CSS_SELECTOR, "rect.bar")
    assert ACCENT in bar.value_of_css_property("fill")


def test_the_pages_render_under_the_strict_csp(
    browser: webdriver.Chrome, live_base_url: str
) -> None:
    """Review finding 6: the strictest policy the pages need; this is what they need."""
    browser.get(f"{live_base_url}/")
    brand = browser.find_element(By.CSS_SELECTOR, "a.brand")
    assert ACCENT in brand.value_of_css_property("color")  # style.css was loaded


def test_form_shows_a_readable_error_for_a_bad_url(
    browser: webdriver.Chrome, live_base_url: str
) -> None:
    browser.get(f"{live_base_url}/")
    form = browser.find_element(By.CSS_SELECTOR, "form#shorten")
    form.find_element(By.NAME, "url").send_keys("ftp://example.invalid/file")
    _submit(browser, form)
    page = browser.find_element(By.TAG_NAME, "body").text.lower()
    assert "http" in page
    assert browser.find_elements(By.CSS_SELECTOR, "#short-url") == []


def test_unknown_code_shows_a_not_found_page(browser: webdriver.Chrome, live_base_url: str) -> None:
    browser.get(f"{live_base_url}/s/nosuchcode")
    assert "not found" in browser.find_element(By.TAG_NAME, "body").text.lower()
