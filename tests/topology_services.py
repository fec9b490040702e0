"""Consumer services for the topology export test: one with several retry tiers (sub-second,
minutes, an hour) and its own delivery limit, one with overlapping and catch-all patterns."""

from __future__ import annotations

from consumers import Event, Service

ledger = Service("hgx-ledger", retry_delays=(0.25, 5, 90, 120, 3600), delivery_limit=3)
audit = Service("hgx-audit", retry_delays=(30,))


@ledger.handler("stripe.invoice.*")
async def invoice(event: Event) -> None:
    del event


@ledger.handler("stripe.charge.#")
async def charge(event: Event) -> None:
    del event


@audit.handler("#")
async def everything(event: Event) -> None:
    del event


@audit.handler("stripe.invoice.*")
def invoice_audit(event: Event) -> None:
    del event
