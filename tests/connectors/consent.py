"""A sandbox consent page, driven the way a browser does: GET the page, POST the decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx2


@dataclass
class ConsentForm:
    """What a consent page shows and what its form would send."""

    action: str = ""
    method: str = ""
    fields: dict[str, str] = field(default_factory=dict)  # hidden inputs
    accounts: list[str] = field(default_factory=list)  # radio choices
    checked: str | None = None
    buttons: dict[str, str] = field(default_factory=dict)  # label -> decision value
    text: str = ""


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.form = ConsentForm()
        self._button: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.form.action, self.form.method = attr.get("action", ""), attr.get("method", "")
        elif tag == "input" and attr.get("type") == "hidden":
            self.form.fields[attr["name"]] = attr.get("value", "")
        elif tag == "input" and attr.get("type") == "radio":
            self.form.accounts.append(attr["value"])
            if "checked" in attr:
                self.form.checked = attr["value"]
        elif tag == "button":
            self._button = attr.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self._button = None

    def handle_data(self, data: str) -> None:
        self._text.append(data)
        if self._button is not None:
            self.form.buttons[data.strip()] = self._button

    def close(self) -> None:
        super().close()
        self.form.text = " ".join(" ".join(self._text).split())


def consent_form(html: str) -> ConsentForm:
    """The form of a consent page, its visible text included (entities decoded)."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.form


def consent_page(client: httpx2.Client, url: str) -> ConsentForm:
    """GET the consent page; check it names the client and offers Allow access and Deny."""
    page = client.get(url)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    form = consent_form(page.text)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    client_id = query.get("client_id") or query.get("application_id")
    assert client_id and client_id in form.text
    assert form.buttons == {"Allow access": "allow", "Deny": "deny"}
    assert form.method == "post"
    return form


def consent(
    client: httpx2.Client, url: str, decision: str = "allow", account: str | None = None
) -> httpx2.Response:
    """Open the consent page at `url`, decide (choosing `account`), return the POST's answer."""
    form = consent_page(client, url)
    data = {**form.fields, "decision": decision}
    if form.checked is not None:
        data["account"] = form.checked
    if account is not None:
        data["account"] = account
    return client.post(urljoin(url, form.action), data=data)


def callback(response: httpx2.Response, redirect_uri: str) -> dict[str, str]:
    """The query of the redirect back to `redirect_uri` (the callback's parameters)."""
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(redirect_uri + "?"), location
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
