"""Pagination strategies: each knows where a page's items are and what asks for the next page.

`ApiClient.paginate` drives them and guards against loops: a repeated page request stops
with `UnexpectedPayload` instead of fetching forever.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

import httpx2

Params = dict[str, str]
ItemsOf = Callable[[Any], Iterable[Any]]


def dig(page: Any, *path: str) -> Any:
    """`page[path[0]][path[1]]...`, or None where a level is missing."""
    for key in path:
        if not isinstance(page, Mapping):
            return None
        page = page.get(key)
    return page


class Paginator(Protocol):
    """Where the items of a page are, and the query of the next page (None at the end)."""

    def items(self, page: Any) -> Iterable[Any]: ...

    def next_params(
        self, page: Any, response: httpx2.Response, params: Params
    ) -> Params | None: ...


@dataclass(frozen=True)
class NextToken:
    """A token in the body names the next page (Amazon `NextToken`, Square `cursor`).

    `only_token`: the follow-up request carries the token alone (Amazon Reports API).
    """

    items_of: ItemsOf
    token_path: tuple[str, ...]
    param: str
    only_token: bool = False

    def items(self, page: Any) -> Iterable[Any]:
        return self.items_of(page)

    def next_params(self, page: Any, response: httpx2.Response, params: Params) -> Params | None:
        token = dig(page, *self.token_path)
        if not token:
            return None
        return {self.param: str(token)} if self.only_token else {**params, self.param: str(token)}


def cursor_pages(
    items_of: ItemsOf, cursor_path: tuple[str, ...], param: str = "cursor"
) -> NextToken:
    """An opaque cursor in the body (Square, TikTok Shop): the same mechanics as a next token."""
    return NextToken(items_of, cursor_path, param)


@dataclass(frozen=True)
class PageNumber:
    """`page=1, 2, ...` until a page comes back short (Xero, WooCommerce)."""

    items_of: ItemsOf
    page_size: int
    param: str = "page"
    first: int = 1

    def items(self, page: Any) -> Iterable[Any]:
        return self.items_of(page)

    def next_params(self, page: Any, response: httpx2.Response, params: Params) -> Params | None:
        if len(list(self.items_of(page))) < self.page_size:
            return None
        current = int(params.get(self.param, self.first))
        return {**params, self.param: str(current + 1)}


@dataclass(frozen=True)
class Offset:
    """`offset` / `limit` with a total in the body (eBay)."""

    items_of: ItemsOf
    limit: int
    total_path: tuple[str, ...] = ("total",)
    offset_param: str = "offset"
    limit_param: str = "limit"

    def items(self, page: Any) -> Iterable[Any]:
        return self.items_of(page)

    def next_params(self, page: Any, response: httpx2.Response, params: Params) -> Params | None:
        offset = int(params.get(self.offset_param, 0)) + self.limit
        total = dig(page, *self.total_path)
        if not list(self.items_of(page)) or (total is not None and offset >= int(total)):
            return None
        return {**params, self.offset_param: str(offset), self.limit_param: str(self.limit)}


@dataclass(frozen=True)
class LinkHeader:
    """RFC 8288 `Link: <...>; rel="next"` (Shopify REST `page_info`, WooCommerce)."""

    items_of: ItemsOf
    rel: str = "next"

    def items(self, page: Any) -> Iterable[Any]:
        return self.items_of(page)

    def next_params(self, page: Any, response: httpx2.Response, params: Params) -> Params | None:
        link = response.links.get(self.rel)
        if not link or "url" not in link:
            return None
        return dict(parse_qsl(urlsplit(link["url"]).query, keep_blank_values=True))
