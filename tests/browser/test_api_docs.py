"""/docs in Chromium: the whole reference renders from the server alone, no request
leaves it (no CDN, no fonts, no script), and every operation is there to link to."""

from __future__ import annotations

from idp.openapi import document, operations


def test_the_reference_renders_with_nothing_loaded_from_elsewhere(page, idp):
    requested, failed = [], []
    page.on("request", lambda r: requested.append(r.url))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(f"{idp}/docs#operation/consumeCredits")
    assert page.locator("article.op").count() == len(list(operations(document())))
    assert (
        page.locator("#operation\\/consumeCredits h3")
        .inner_text()
        .endswith("/api/cross-app/credits/consume")
    )
    # The stylesheet applied: the index is a fixed column beside the operations.
    assert page.evaluate("getComputedStyle(document.querySelector('nav')).position") == "sticky"
    assert requested and all(url.startswith(idp + "/") for url in requested), requested
    assert failed == []
