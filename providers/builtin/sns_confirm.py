"""AWS SNS subscription confirmation: the allow-list for `SubscribeURL` and the background GET.

The GET runs after the gateway has answered (`Handshake.follow_up`), never inside `verify`, in a
worker thread, with redirects refused and a timeout. Only a URL on SNS's own hosts, path `/`,
with the query `Action=ConfirmSubscription` and the message's `TopicArn` (and `Token`) is
fetched.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable

from providers._fetch import FetchFailed, Transport, urllib_transport
from providers.keyfetch import UrlRule

_log = logging.getLogger("hookgate.providers.aws_sns")

#: SNS's hosts: `sns.<region>.amazonaws.com(.cn)`, the region spelled as AWS spells regions
#: (`us-east-1`, `us-gov-west-1`, `cn-north-1`), in lower case. The official validators' looser
#: `sns.[a-zA-Z0-9-]{3,}.amazonaws.com` also admits S3's legacy bucket hosts
#: (`sns.s3-us-west-2.amazonaws.com`, a bucket named `sns`) and `sns.execute-api.amazonaws.com`.
SNS_HOST = re.compile(r"sns\.[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}\.amazonaws\.com(\.cn)?")
SUBSCRIBE_RULE = UrlRule(SNS_HOST, re.compile(r"/"), query=True)
CONFIRM_TIMEOUT = 10.0
_CONFIRM_MAX_BYTES = 64 * 1024


def confirm_later(
    url: str, fields: dict[str, str], transport: Transport = urllib_transport
) -> Callable[[], Awaitable[None]]:
    """The follow-up that GETs `url` (already checked against the allow-list)."""

    async def confirm() -> None:
        try:
            await asyncio.to_thread(transport, url, CONFIRM_TIMEOUT, _CONFIRM_MAX_BYTES)
        except FetchFailed as err:
            failed = {**fields, "reason": str(err), "subscribe_url": url}
            _log.warning("SNS subscription confirmation failed", extra={"fields": failed})
        else:
            _log.info("SNS subscription confirmed", extra={"fields": fields})

    return confirm
