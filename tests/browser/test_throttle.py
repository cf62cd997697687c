"""Too many wrong passwords: the sign-in screen says how long to wait."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.browser_support import assert_no_raw_keys, catalog, sign_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_throttled_sign_in_says_when_to_try_again(new_context, lang):
    _, page, console = new_context(locale=lang)
    page.goto("/login")
    texts = catalog(lang)
    error = page.locator("[data-testid=login-error]")
    # Each language locks a different account, so the two runs do not share a counter.
    account = "guard2" if lang == "en" else "tower-guard"
    for _ in range(30):
        sign_in(page, account, "wrong-password")
        expect(page.locator("form button[type=submit]")).to_be_enabled()
        expect(error).to_be_visible()
        if error.inner_text() != texts["error.invalid_credentials"]:
            break
    head, tail = texts["error.login_throttled"].split("{retry_after}")
    expect(error).to_have_text(re.compile(rf"^{re.escape(head)}\d+{re.escape(tail)}$"))
    assert_no_raw_keys(page, console)
