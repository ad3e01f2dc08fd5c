"""The browser side of tracking: the snippet a shop puts on its pages and the tracker it loads.

The platform's integrations (Shopify app, WooCommerce plugin, OpenCart modules) paste whatever
`/api/v1/site/script` returns into every page, then call the platform's command queue `eS(...)`. The
snippet defines that queue and loads `/scripts/<site id>.js`: recoms' tracker.js configured for the site.
"""

from __future__ import annotations

import json
from importlib.resources import files

from recoms.services.accounts import AccountDirectory

_TRACKER = files("recoms.static").joinpath("tracker.js").read_text(encoding="utf-8")



def js_value(value: object) -> str:
    """A JSON literal that is also safe inside an HTML <script> element.

    `<`, `>` and `&` are escaped so that no `</script>`, `<!--` or HTML entity can appear (OpenCart
    decodes entities in the snippet); ensure_ascii escapes U+2028/U+2029, which old JS engines reject.
    """
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def snippet(site_id: str, base_url: str) -> str:
    """The platform's standard loader snippet, pointing at this server's tracker for `site_id`.

    Shopify stores it with every newline deleted and whitespace collapsed, so: no `//` comments and an
    explicit semicolon after every statement. `eS('init');` must stay literally as it is: Shopify's
    App Inbox switch rewrites it with a regex and OpenCart's with str_replace.
    """
    scripts = js_value(base_url.rstrip("/") + "/scripts/")
    return (
        "<script>\n"
        "!function (t, e, c, n) {\n"
        "    var s = e.createElement(c);\n"
        f"    s.async = 1, s.src = {scripts} + n + '.js';\n"
        "    var r = e.scripts[0];\n"
        "    r.parentNode.insertBefore(s, r);\n"
        "    var f = function () {\n"
        "        f.c(arguments);\n"
        "    };\n"
        "    f.q = [];\n"
        "    f.c = function () {\n"
        "        f.q.push(arguments);\n"
        "    };\n"
        "    t['eS'] = t['eS'] || f;\n"
        f"}}(window, document, 'script', {js_value(site_id)});\n"
        "</script>\n"
        "<script>eS('init');</script>\n"
    )


def site_tracker(directory: AccountDirectory, site_id: str) -> bytes | None:
    """tracker.js configured for one site (its id and the account id the WooCommerce plugin reads as
    `_esConfig.orgId`), or None for an unknown site.

    The tracking endpoint is not baked in: the tracker derives it from its own URL, the one address the
    browser has shown it can reach (behind a proxy the server may not know its public scheme or prefix).
    """
    account = directory.site(site_id)  # None for anything not shaped like a site id, without a lookup
    if account is None:
        return None
    config = js_value({"siteId": account.site_id, "orgId": account.id})
    return f"window.__recomsConfig = {config};\n{_TRACKER}".encode()
