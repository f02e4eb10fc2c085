"""The Amazon sandbox and connector against the official Finances v0 spec (financesV0.json).

Every kind of response the sandbox sends is validated with jsonschema against the schema the
operation declares for that status; every request the connector sends against the operation's
declared query parameters. The connector's mapping table is checked against the spec too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest

from connectors import amazon
from connectors.amazon_events import MAPPERS, OTHER_LISTS
from connectors.clock import SimulatedClock
from connectors.sandbox import transport
from connectors.sandbox.amazon import AmazonSandbox, SellerSpec
from reconcile.models import Connection
from tests.contract import Swagger, require_spec

SPEC = Swagger(require_spec("amazon", "financesV0.json"))
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
HOST = "https://sellingpartnerapi-na.amazon.com"
GROUPS = "/finances/v0/financialEventGroups"
EVENTS = "/finances/v0/financialEventGroups/{eventGroupId}/financialEvents"
Exchange = tuple[httpx2.Request, httpx2.Response]


class Recorder:
    """A sandbox behind a transport that keeps every request and response."""

    def __init__(self, **spec: Any) -> None:
        self.clock = SimulatedClock(NOW)
        start = datetime(2025, 9, 1, 7, 30, tzinfo=UTC)
        self.sandbox = AmazonSandbox(
            self.clock, sellers={"seller": SellerSpec(start=start, **spec)}
        )
        self.exchanges: list[Exchange] = []
        inner = transport(self.sandbox)

        def spy(request: httpx2.Request) -> httpx2.Response:
            response = inner.handle_request(request)
            response.read()
            self.exchanges.append((request, response))
            return response

        self.transport = httpx2.MockTransport(spy)
        self.http = httpx2.Client(base_url=HOST, transport=self.transport)
        self.access = self._access_token()

    def _access_token(self) -> str:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.sandbox.issue_refresh_token("seller"),
            "client_id": self.sandbox.client_id,
            "client_secret": self.sandbox.client_secret,
        }
        token: str = self.http.post(amazon.LWA_TOKEN_URL, data=form).json()["access_token"]
        return token

    def token(self) -> str:
        return self.access

    def invalidate(self) -> None:
        self.access = self._access_token()

    def get(self, path: str, *, token: str | None = None, **params: Any) -> httpx2.Response:
        """GET with this seller's access token, or with `token` instead ("" for none)."""
        headers = {"x-amz-access-token": self.access if token is None else token}
        return self.http.get(path, params=params, headers=headers)

    def api_exchanges(self) -> list[Exchange]:
        return [(q, r) for q, r in self.exchanges if q.url.path.startswith(GROUPS)]


def template(path: str) -> str:
    return EVENTS if path.endswith("/financialEvents") else GROUPS


def conforms(request: httpx2.Request, response: httpx2.Response) -> list[str]:
    return SPEC.response_errors(
        template(request.url.path), response.status_code, response.json(), strict=True
    )


def sync(recorder: Recorder, days: int) -> list[Exchange]:
    connection = Connection(
        id="amz",
        workspace_id="ws",
        provider="amazon",
        name="Amazon",
        kind="channel",
        region="na",
        config={"marketplaces": ["US"]},
        created_at=NOW,
    )
    client = amazon.connect(
        connection, token=recorder, clock=recorder.clock, transport=recorder.transport
    )
    assert list(client.settlements(NOW - timedelta(days=days), NOW))
    return recorder.api_exchanges()


@pytest.fixture(scope="module")
def synced() -> list[Exchange]:
    """Full syncs through the connector: many small groups (two pages of groups), then a few
    large ones (several pages of events each)."""
    many = Recorder(cadence=timedelta(days=1), lines_per_group=3)
    large = Recorder(cadence=timedelta(days=14), lines_per_group=600)
    return sync(many, 150) + sync(large, 60)


def test_the_sync_exercised_paging_on_both_operations(synced: list[Exchange]) -> None:
    tokens = [q.url.path for q, _ in synced if "NextToken" in q.url.params]
    assert {template(path) for path in tokens} == {GROUPS, EVENTS}


def test_every_request_the_connector_sends_is_declared_by_the_spec(
    synced: list[Exchange],
) -> None:
    for request, _ in synced:
        path = template(request.url.path)
        assert request.method.lower() in SPEC.spec["paths"][path]
        query = dict(request.url.params.items())
        assert SPEC.query_errors(path, query) == [], request.url
        assert int(query["MaxResultsPerPage"]) == 100
        assert request.headers["x-amz-access-token"].startswith("Atza|")


def test_the_group_window_parameters_are_date_times(synced: list[Exchange]) -> None:
    first, _ = synced[0]
    assert SPEC.query_errors(GROUPS, {"FinancialEventGroupStartedAfter": "2026-01-05"}) != []
    after = first.url.params["FinancialEventGroupStartedAfter"]
    before = first.url.params["FinancialEventGroupStartedBefore"]
    assert SPEC.query_errors(GROUPS, {"FinancialEventGroupStartedAfter": after}) == []
    assert before.endswith("Z")


def test_every_page_of_the_sync_conforms_to_the_declared_200_schema(
    synced: list[Exchange],
) -> None:
    assert {r.status_code for _, r in synced} == {200}
    for request, response in synced:
        assert conforms(request, response) == [], request.url


@pytest.mark.parametrize("operation", [GROUPS, EVENTS])
@pytest.mark.parametrize(
    ("scenario", "status"),
    [
        ("bad page size", 400),
        ("no token", 403),
        ("expired token", 403),
        ("throttled", 429),
        ("fault 429", 429),
        ("fault 500", 500),
        ("fault 503", 503),
        ("errors body", 200),
        ("unknown group", 404),
    ],
)
def test_every_kind_of_response_conforms_to_the_spec(
    operation: str, scenario: str, status: int
) -> None:
    recorder = Recorder()
    group_id = recorder.get(GROUPS).json()["payload"]["FinancialEventGroupList"][0][
        "FinancialEventGroupId"
    ]
    path = GROUPS if operation == GROUPS else f"{GROUPS}/{group_id}/financialEvents"
    response = provoke(recorder, scenario, path)
    assert response.status_code == status
    body = response.json()
    assert SPEC.response_errors(operation, status, body, strict=True) == []
    if status != 200 or scenario == "errors body":
        assert body["errors"] and "payload" not in body


def provoke(recorder: Recorder, scenario: str, path: str) -> httpx2.Response:
    sandbox = recorder.sandbox
    if scenario == "bad page size":
        return recorder.get(path, MaxResultsPerPage=0)
    if scenario == "no token":
        return recorder.get(path, token="")
    if scenario == "expired token":
        sandbox.expire_access_tokens()
        return recorder.get(path)
    if scenario == "throttled":
        for _ in range(30):
            recorder.get(path)
        return recorder.get(path)
    if scenario == "unknown group":
        return recorder.get(f"{GROUPS}/no-such-group/financialEvents")
    kind = {"fault 429": "429", "fault 500": "500", "fault 503": "503"}.get(scenario, "errors_body")
    sandbox.add_fault(kind, retry_after=1)
    return recorder.get(path)


def test_the_checks_catch_a_body_that_breaks_the_contract() -> None:
    broken = {
        "payload": {
            "FinancialEventGroupList": [
                {"FinancialEventGroupId": 7, "OriginalTotal": {"CurrencyAmount": "1.00"}},
                {"FinancialEventGroupStart": "March 2nd", "Surprise": True},
            ]
        },
        "errors": [{"message": "no code"}],
    }
    problems = " | ".join(SPEC.response_errors(GROUPS, 200, broken, strict=True))
    assert "7 is not of type 'string'" in problems
    assert "'1.00' is not of type 'number'" in problems
    assert "'March 2nd' is not a 'date-time'" in problems
    assert "'Surprise' was unexpected" in problems
    assert "'code' is a required property" in problems
    assert SPEC.query_errors(GROUPS, {"MaxResultsPerPage": "500", "nextToken": "x"}) == [
        "nextToken is not a declared parameter",
        "MaxResultsPerPage=500 is outside 1..100",
    ]


# ---- the connector's mapping table against the spec's FinancialEvents -------------------


def item_definition(ref_holder: dict[str, Any]) -> dict[str, Any]:
    """The definition a property points at, looking through arrays to their items."""
    schema = ref_holder
    while "$ref" in schema or schema.get("type") == "array":
        if "$ref" in schema:
            schema = SPEC.definition(schema["$ref"].rsplit("/", 1)[1])
        else:
            schema = schema["items"]
    return schema


def test_the_connector_maps_exactly_the_event_lists_of_the_spec() -> None:
    declared = set(SPEC.definition("FinancialEvents")["properties"])
    assert set(MAPPERS) == declared


@pytest.mark.parametrize("name", sorted(OTHER_LISTS))
def test_every_other_list_reads_fields_its_event_declares(name: str) -> None:
    spec = OTHER_LISTS[name]
    event = item_definition(SPEC.definition("FinancialEvents")["properties"][name])
    fields = [f for f in (spec.label, spec.posted, spec.order, spec.sku) if f]
    assert set(fields) <= set(event["properties"]), fields
    currency, components = (
        SPEC.definition("Currency"),
        {
            id(SPEC.definition(n))
            for n in ("ChargeComponent", "FeeComponent", "ChargeRefundTransaction")
        },
    )
    for path in spec.money:
        schema = event
        for part in path.split("."):
            schema = item_definition(schema["properties"][part])
        assert schema is currency or id(schema) in components, path
