"""An example consumer service: what the quickstart runs next to the gateway.

    hookgate consume consumers.examples.billing:billing

It handles Stripe invoice events and GitHub pushes/pull requests, and shows each outcome a
handler can choose: return (done), `Retry` (try again later), `Reject` (park it for a human).
"""

from __future__ import annotations

import logging

from consumers import Event, Reject, Retry, Service

log = logging.getLogger("hookgate.examples.billing")

# A name of its own, not "billing": the quickstart deletes this service's queues (--force) when
# it stops, and must never take a real `billing` service's queues with it.
billing = Service(
    "quickstart-billing",
    retry_delays=(5, 30, 120, 600, 3600),  # then the dead-letter queue: quickstart-billing.dead
    handler_timeout=30,
    idempotency="sqlite:var/billing-done.sqlite3",
)


@billing.handler("stripe.invoice.*")
async def invoice(event: Event) -> None:
    data = event.json()
    invoice = data.get("data", {}).get("object", {})
    if not isinstance(invoice, dict) or "amount_paid" not in invoice:
        raise Reject("not an invoice: data.object.amount_paid is missing")
    if invoice.get("status") == "draft":
        raise Retry(delay=30, reason="invoice still a draft")
    log.info(
        "invoice processed",
        extra={
            "fields": {
                "event_id": event.id,
                "type": event.type,
                "customer": invoice.get("customer"),
                "amount_paid": invoice["amount_paid"],
                "currency": invoice.get("currency"),
                "attempt": event.attempt,
                "received_at": event.received_at.isoformat(),
            }
        },
    )


@billing.handler("github.#")
def github_activity(event: Event) -> None:
    # A plain function: it runs in the worker's thread pool.
    data = event.json()
    repository = (data.get("repository") or {}).get("full_name")
    log.info(
        "github event",
        extra={"fields": {"event_id": event.id, "type": event.type, "repository": repository}},
    )
