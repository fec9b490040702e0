"""Microsoft Graph and Azure Event Grid: handshakes, the shared secrets that stand for a
signature, and the bodies the senders send.

Graph ships no verifier (`msgraph-sdk` only models payloads): its bodies are Microsoft's own
documented examples, and the checks are those of Microsoft's sample receiver
(`microsoftgraph/aspnetcore-webhooks-sample`, `ListenController`: a `validationToken` query is
answered 200 `text/plain` with the token; each notification's `clientState` must equal the
subscription's). Event Grid bodies are serialised by `azure-eventgrid`'s own publisher code.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridEvent, SystemEventNames
from azure.eventgrid._legacy._helpers import _cloud_event_to_generated
from azure.eventgrid._legacy._publisher_client import _build_request

from providers import (
    Handshake,
    InvalidSignature,
    Malformed,
    MissingSignature,
    ProviderConfigError,
    VerifiedEvent,
    load,
)
from providers.builtin.eventgrid import AzureEventGridProvider
from providers.builtin.graph import sign_body
from providers.signing import CannotSign, sign
from providers.testing import build_provider, make_request

# --- Microsoft Graph -----------------------------------------------------------------------

STATE = "secretClientValue"  # the documented example's clientState
#: Microsoft's documented change notification (a new message), exactly as published.
DOCS_NOTIFICATION = b"""{
  "value": [
    {
      "id": "lsgTZMr9KwAAA",
      "subscriptionId":"{subscription_guid}",
      "subscriptionExpirationDateTime":"2016-03-19T22:11:09.952Z",
      "clientState":"secretClientValue",
      "changeType":"created",
      "resource":"users/{user_guid}@{tenant_guid}/messages/{long_id_string}",
      "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
      "resourceData":
      {
        "@odata.type":"#Microsoft.Graph.Message",
        "@odata.id":"Users/{user_guid}@{tenant_guid}/Messages/{long_id_string}",
        "@odata.etag":"W/\\"CQAAABYAAADkrWGo7bouTKlsgTZMr9KwAAAUWRHf\\"",
        "id":"{long_id_string}"
      }
    }
  ]
}"""
#: Microsoft's documented lifecycle notification, its placeholder clientState filled in.
DOCS_LIFECYCLE = b"""{
  "value": [
    {
      "lifecycleEvent": "reauthorizationRequired",
      "subscriptionId": "e3898f08-5cd0-4a6a-80fc-6addbfb73b7b",
      "subscriptionExpirationDateTime": "2019-09-18T00:52:45.9696658+00:00",
      "clientState": "secretClientValue",
      "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95"
    }
  ]
}"""
#: What Graph's validation tokens read like (the query parameter, decoded).
TOKEN = (
    "Validation: Testing client application reachability for subscription "
    "Request-Id: 522a8e7e-096a-494c-aaf1-ac0dcfca45b7"
)


def _graph(body: bytes, *, states: tuple[str, ...] = (STATE,), **request: Any) -> Any:
    provider = build_provider(load("microsoft-graph"), list(states))
    return provider.verify(make_request(body, {"content-type": "application/json"}, **request))


def test_graph_validation_token_is_echoed_as_unsniffable_text_before_anything_else() -> None:
    # Graph POSTs the check with an empty text/plain body and no clientState.
    answer = _graph(b"", query={"validationToken": TOKEN})

    assert answer == Handshake(
        TOKEN.encode(),
        content_type="text/plain; charset=utf-8",
        headers=(("x-content-type-options", "nosniff"),),
    )


@pytest.mark.parametrize(
    "token", ["", "<script>alert(1)</script>", "a&b", 'say "hi"', "x" * 1025, "caf\u00e9"]
)
def test_graph_validation_token_that_graph_never_sends_is_refused(token: str) -> None:
    with pytest.raises(InvalidSignature):
        _graph(b"", query={"validationToken": token})


def test_graph_documented_change_notification_is_an_event() -> None:
    event = _graph(DOCS_NOTIFICATION)

    assert event == VerifiedEvent("lsgTZMr9KwAAA", "created")


def test_graph_documented_lifecycle_notification_is_an_event_typed_by_its_lifecycle_event() -> None:
    event = _graph(DOCS_LIFECYCLE)

    # Lifecycle notifications carry no `id`: the body hash.
    assert event == VerifiedEvent(
        hashlib.sha256(DOCS_LIFECYCLE).hexdigest(), "reauthorizationRequired"
    )


def test_graph_every_notification_of_a_batch_must_carry_the_client_state() -> None:
    collection = json.loads(DOCS_NOTIFICATION)
    first = collection["value"][0]
    second = {**first, "id": "second", "changeType": "updated"}
    batch = {"value": [first, second]}

    event = _graph(json.dumps(batch).encode())
    assert isinstance(event, VerifiedEvent)
    assert event.id == "batch-" + hashlib.sha256(b"lsgTZMr9KwAAA\nsecond").hexdigest()
    assert event.type == "batch"

    for forged in (
        {**second, "clientState": "guess"},
        {k: v for k, v in second.items() if k != "clientState"},
    ):
        body = json.dumps({"value": [first, forged]}).encode()
        with pytest.raises(InvalidSignature):
            _graph(body)


def test_graph_client_state_hidden_behind_escapes_is_still_checked() -> None:
    collection = json.loads(DOCS_NOTIFICATION)
    item = collection["value"][0]
    # The value escaped: still the same string, accepted.
    escaped = json.dumps({"value": [item]}).replace(
        '"secretClientValue"', '"secret\\u0043lientValue"'
    )
    assert isinstance(_graph(escaped.encode()), VerifiedEvent)
    # A second item whose key is escaped is not seen by the scan, but is by the parsed check.
    other = json.dumps({**item, "clientState": "guess"}).replace(
        '"clientState"', '"client\\u0053tate"'
    )
    body = b'{"value": [' + json.dumps(item).encode() + b", " + other.encode() + b"]}"
    with pytest.raises(InvalidSignature):
        _graph(body)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"value": []}', MissingSignature),
        (b'{"value": [{"changeType": "created"}]}', MissingSignature),
        (b'{"value": [{"clientState": "nope", "changeType": "created"}]}', InvalidSignature),
        (b'{"value": [{"clientState": 1, "changeType": "created"}]}', MissingSignature),
        (b'{"clientState": "secretClientValue"}', Malformed),  # no collection
        (b'{"value": [{"clientState": "secretClientValue"}], "x": ', Malformed),
    ],
)
def test_graph_refusals(body: bytes, error: type) -> None:
    with pytest.raises(error):
        _graph(body)


def test_graph_rotation_and_signing_round_trip() -> None:
    body = sign_body(DOCS_NOTIFICATION, "new-state")

    assert json.loads(body)["value"][0]["clientState"] == "new-state"
    assert _graph(body, states=(STATE, "new-state")) == VerifiedEvent("lsgTZMr9KwAAA", "created")
    signed = sign(load("microsoft-graph"), DOCS_NOTIFICATION, "new-state")
    assert signed.body == body


# --- Azure Event Grid ----------------------------------------------------------------------

SECRET = "eg-secret-0123456789"
VALIDATION_CODE = "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"  # Microsoft's documented example


def _sdk_body(*events: EventGridEvent | CloudEvent) -> bytes:
    """The bytes `azure-eventgrid`'s publisher sends for `events` (no network)."""
    if isinstance(events[0], CloudEvent):
        generated = [_cloud_event_to_generated(e) for e in events]
        content_type = "application/cloudevents-batch+json; charset=utf-8"
        request = _build_request(
            "https://t.example", content_type, generated, api_version="2018-01-01"
        )
    else:
        content_type = "application/json; charset=utf-8"
        request = _build_request(
            "https://t.example", content_type, list(events), api_version="2018-01-01"
        )
    body = request.body
    return body if isinstance(body, bytes) else str(body).encode()


def _grid(
    body: bytes,
    *,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    method: str = "POST",
    **options: Any,
) -> Any:
    provider = build_provider(load("azure-eventgrid"), [SECRET], options=options)
    request = make_request(
        body, headers or {}, method=method, query=query if query is not None else {"code": SECRET}
    )
    return provider.verify(request)


def test_eventgrid_sdk_serialised_events_are_accepted_with_their_id_and_type() -> None:
    blob = EventGridEvent(
        subject="/blobServices/default/containers/c/blobs/b.txt",
        event_type="Microsoft.Storage.BlobCreated",
        data={"api": "PutBlockList", "caf\u00e9": "\u00e9t\u00e9"},
        data_version="1",
    )
    one = _grid(_sdk_body(blob))
    assert one == VerifiedEvent(str(blob.id), "Microsoft.Storage.BlobCreated")

    other = EventGridEvent(
        subject="s", event_type="Microsoft.Storage.BlobDeleted", data={}, data_version="1"
    )
    both = _grid(_sdk_body(blob, other))
    digest = hashlib.sha256(f"{blob.id}\n{other.id}".encode()).hexdigest()
    assert both == VerifiedEvent(f"batch-{digest}", "batch")


def test_eventgrid_sdk_serialised_cloud_events_are_accepted() -> None:
    event = CloudEvent(source="/contoso/items", type="Contoso.Items.ItemReceived", data={"n": 1})

    assert _grid(_sdk_body(event)) == VerifiedEvent(event.id, "Contoso.Items.ItemReceived")
    # One structured-mode CloudEvent (an object, not a batch).
    single = json.dumps({"specversion": "1.0", "id": "ce-1", "type": "t.x", "source": "/s"})
    assert _grid(single.encode()) == VerifiedEvent("ce-1", "t.x")


def test_eventgrid_validation_event_is_answered_with_its_code_and_needs_the_secret() -> None:
    validation = EventGridEvent(
        subject="",
        event_type=SystemEventNames.EventGridSubscriptionValidationEventName,
        data={
            "validationCode": VALIDATION_CODE,
            "validationUrl": "https://rp-eastus2.eventgrid.azure.net:553/eventsubscriptions/e/validate?id=1",
        },
        data_version="2",
    )
    body = _sdk_body(validation)
    headers = {"aeg-event-type": "SubscriptionValidation"}

    assert _grid(body, headers=headers) == Handshake(
        b'{"validationResponse":"%s"}' % VALIDATION_CODE.encode()
    )
    with pytest.raises(MissingSignature):
        _grid(body, headers=headers, query={})
    with pytest.raises(InvalidSignature):
        _grid(body, headers=headers, query={"code": "guess"})


def test_eventgrid_sdk_reads_the_catalogue_body_back() -> None:
    from tests.unit.providers._catalogue import TABLE

    [parsed] = [EventGridEvent.from_dict(e) for e in json.loads(TABLE["azure-eventgrid"][0])]
    assert (parsed.id, parsed.event_type) == (
        "831e1650-001e-001b-66ab-eeb76e069631",
        "Microsoft.Storage.BlobCreated",
    )


def test_eventgrid_cloudevents_options_check_grants_the_origin_once_authenticated() -> None:
    headers = {"webhook-request-origin": "eventemitter.example.com", "webhook-request-rate": "120"}

    answer = _grid(b"", headers=headers, method="OPTIONS")

    assert isinstance(answer, Handshake)
    assert (answer.status_code, answer.body) == (200, b"")
    assert dict(answer.headers) == {
        "webhook-allowed-origin": "eventemitter.example.com",
        "webhook-allowed-rate": "120",
        "allow": "OPTIONS, POST",
    }
    assert (
        dict(
            _grid(b"", headers={"webhook-request-origin": "eg.example"}, method="OPTIONS").headers
        )["webhook-allowed-rate"]
        == "*"
    )
    with pytest.raises(MissingSignature):
        _grid(b"", headers=headers, method="OPTIONS", query={})
    with pytest.raises(Malformed):
        _grid(b"", headers={"webhook-request-origin": "<a>"}, method="OPTIONS")


def test_eventgrid_secret_placement_options() -> None:
    body = _sdk_body(EventGridEvent(subject="s", event_type="A.B", data={}, data_version="1"))
    # A named query parameter.
    assert isinstance(_grid(body, query={"key": SECRET}, secret_parameter="key"), VerifiedEvent)
    with pytest.raises(MissingSignature):
        _grid(body, query={"code": SECRET}, secret_parameter="key")
    # A delivery-property header: the query is then not read.
    ok = _grid(body, headers={"x-grid-secret": SECRET}, query={}, secret_header="X-Grid-Secret")
    assert isinstance(ok, VerifiedEvent)
    provider = build_provider(
        load("azure-eventgrid"), [SECRET], options={"secret_header": "X-Grid-Secret"}
    )
    assert provider.credential_headers == frozenset({"x-grid-secret"})  # type: ignore[attr-defined]
    with pytest.raises(ProviderConfigError, match=r"sources\.test\.secret_header"):
        build_provider(
            load("azure-eventgrid"),
            [SECRET],
            options={"secret_header": "a", "secret_parameter": "b"},
        )
    with pytest.raises(ProviderConfigError, match=r"sources\.test\.secrets\[0\]"):
        build_provider(load("azure-eventgrid"), ["a+b"])  # `+` in a URL reads as a space
    assert isinstance(
        build_provider(load("azure-eventgrid"), ["a+b"], options={"secret_header": "x-s"}),
        AzureEventGridProvider,
    )
    with pytest.raises(ProviderConfigError, match=r"sources\.test\.secret_parameter"):
        build_provider(load("azure-eventgrid"), [SECRET], options={"secret_parameter": "a b"})


def test_eventgrid_cannot_sign_a_secret_that_travels_in_the_url() -> None:
    with pytest.raises(CannotSign, match=r"\?code=<secret>"):
        sign(load("azure-eventgrid"), b"[]", SECRET)
    signed = sign(load("azure-eventgrid"), b"[]", SECRET, options={"secret_header": "X-S"})
    assert signed.headers["x-s"] == SECRET
