"""The contract every provider keeps, as a test base class for plugin authors.

Subclass it in a test module under a name starting with `Test`, describe your provider in class
attributes, and pytest runs the same checks the built-in providers pass::

    class TestAcmeProvider(ProviderContract):
        provider = AcmeProvider
        secrets = ("acme-secret-1", "acme-secret-2")
        body = b'{"id": "evt_1", "type": "order.paid"}'
        has_timestamp = True
        signature_headers = ("acme-signature", "acme-timestamp")

        def sign(self, body: bytes, secret: str, timestamp: int) -> dict[str, str]:
            return {"acme-signature": ..., "acme-timestamp": str(timestamp)}

The base class imports nothing from pytest, so shipping it costs the gateway nothing; its
failures are plain `AssertionError`s that say which rule was broken.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from typing import ClassVar, cast

from providers.base import Handshake, Provider, ProviderFactory, VerifiedEvent
from providers.errors import (
    InvalidSignature,
    Malformed,
    MissingSignature,
    ProviderConfigError,
    StaleTimestamp,
    VerificationError,
)
from providers.facts import describe
from providers.testing.builders import build_provider, make_request
from providers.testing.signers import sign_request

SOURCE = "contract"
#: Header values no provider may choke on: each must be refused (or ignored), never crash.
GARBAGE = ("", "garbage", "=,,=", "x" * 10_240, "é\u00ff")
_SKEW = 3600
_Outcome = VerifiedEvent | Handshake | VerificationError


class ProviderContract:
    """Base class of a provider's contract test. Set the class attributes; override `sign`.

    - `provider`: the provider class (or factory) under test.
    - `provider_name`: a built-in provider name; when set, `sign` uses `sign_request`.
    - `options`: the source's provider options.
    - `secrets`: at least two different secrets; the second checks rotation and wrong secrets.
    - `body`: a non-empty body the provider accepts, giving an event ID and type.
    - `has_timestamp`: whether the signature covers a timestamp the provider checks (default
      True, so that forgetting it fails loudly for a provider without one).
    - `body_signed`: whether the signature covers the body (default True). Static-token
      schemes (a shared secret in a header) set it False: a tampered body cannot be detected.
    - `signature_headers`: the headers whose absence must give `MissingSignature`; any other
      header `sign` returns (event ID or type metadata) may give `Malformed` or be optional.
    - `stale_skew`: how far (seconds, either way) a timestamp is off in the stale checks;
      an hour by default, more for a provider whose default tolerance is longer.
    """

    provider: ClassVar[type[Provider] | ProviderFactory]
    provider_name: ClassVar[str | None] = None
    options: ClassVar[Mapping[str, object]] = {}
    secrets: ClassVar[tuple[str, ...]] = ()
    body: ClassVar[bytes] = b""
    has_timestamp: ClassVar[bool] = True
    body_signed: ClassVar[bool] = True
    signature_headers: ClassVar[tuple[str, ...]] = ()
    stale_skew: ClassVar[int] = _SKEW

    def sign(self, body: bytes, secret: str, timestamp: int) -> dict[str, str]:
        """The headers the provider would send for `body` signed with `secret` at `timestamp`."""
        if self.provider_name is None:
            raise NotImplementedError(
                f"{type(self).__name__} must set provider_name or implement sign()"
            )
        _, options = self.source((secret,))
        return sign_request(self.provider_name, body, secret, timestamp=timestamp, options=options)

    def source(self, secrets: tuple[str, ...]) -> tuple[tuple[str, ...], Mapping[str, object]]:
        """The source's `secrets` and options for these signing secrets.

        Override for asymmetric providers, whose source holds the public half: return no
        secrets and a `public_key` option derived from the private keys the test signs with.
        """
        return secrets, self.options

    def signed_body(self, body: bytes, secret: str, timestamp: int) -> bytes:
        """The body as sent. Override for providers that sign inside the body (Mailgun)."""
        return body

    # --- the rules ---------------------------------------------------------------------------

    def test_contract_is_described(self) -> None:
        signed, _ = self._sign(self.body)
        for name in self.signature_headers:
            _check(name in signed, f"signature_headers names {name!r}, which sign() never sends")

    def test_provider_describes_itself(self) -> None:
        provider = self._build()
        _check(isinstance(getattr(provider, "family", None), str), "set `family` to a str")
        methods = getattr(provider, "methods", None)
        _check(isinstance(methods, frozenset) and bool(methods), "set `methods` to a frozenset")
        _check(all(str(m).isupper() for m in methods or ()), "methods are upper-case (POST)")

    def test_unknown_option_is_refused_by_name(self) -> None:
        try:
            secrets, options = self.source(self.secrets)
            self._build(secrets=secrets, options={**options, "no_such_option": "x"})
        except ProviderConfigError as err:
            _check(f"sources.{SOURCE}.no_such_option" in str(err), f"error {err} names no key")
        else:
            raise AssertionError("an unknown option was accepted: call options.finish()")

    def test_valid_signature_verifies(self) -> None:
        event = self._outcome(*self._sign(self.body))
        if not isinstance(event, VerifiedEvent):
            raise AssertionError(f"a valid request gave {event!r}")
        _check(isinstance(event.id, str) and bool(event.id), "the event ID must be a non-empty str")
        _check(isinstance(event.type, str) and bool(event.type), "the type must be a non-empty str")

    def test_tampered_body_is_refused(self) -> None:
        headers, body = self._sign(self.body)
        tampered = body[:-1] + bytes([body[-1] ^ 0x01])
        if self.body_signed:
            self._expect(InvalidSignature, headers, tampered)
        else:
            # Proves the declaration: a token scheme that does cover the body must say so.
            outcome = self._outcome(headers, tampered)
            _check(isinstance(outcome, VerifiedEvent | Malformed), f"tampered: {outcome!r}")

    def test_wrong_secret_is_refused(self) -> None:
        headers, body = self._sign(self.body, secret=self.secrets[1])
        self._expect(InvalidSignature, headers, body, secrets=self.secrets[:1])

    def test_rotated_secret_is_accepted(self) -> None:
        for i, secret in enumerate(self.secrets[:2]):
            event = self._outcome(*self._sign(self.body, secret=secret))
            _check(isinstance(event, VerifiedEvent), f"signed with secrets[{i}]: {event!r}")

    def test_hour_old_signature_is_stale_if_timestamped(self) -> None:
        self._check_skewed(-self.stale_skew)

    def test_hour_early_signature_is_stale_if_timestamped(self) -> None:
        self._check_skewed(+self.stale_skew)

    def test_unsigned_request_is_refused(self) -> None:
        self._expect(MissingSignature, {}, self.body)

    def test_each_signature_header_is_required(self) -> None:
        signed, body = self._sign(self.body)
        for name in signed:
            outcome = self._outcome({k: v for k, v in signed.items() if k != name}, body)
            if name in self.signature_headers:
                _check(isinstance(outcome, MissingSignature), f"without {name}: {outcome!r}")
            else:
                allowed = (VerifiedEvent, MissingSignature, Malformed)
                _check(isinstance(outcome, allowed), f"without {name}: {outcome!r}")

    def test_garbage_header_values_are_refused(self) -> None:
        signed, body = self._sign(self.body)
        for name in signed:
            for garbage in GARBAGE:
                outcome = self._outcome({**signed, name: garbage}, body)
                where = f"{name}: {garbage[:20]!r} gave {outcome!r}"
                if name in self.signature_headers:
                    _check(isinstance(outcome, VerificationError), where)
                elif isinstance(outcome, VerifiedEvent):
                    _check(bool(outcome.id) and bool(outcome.type), where)

    def test_headers_carrying_the_secret_are_declared_credentials(self) -> None:
        # The gateway never forwards or stores a `credential_headers` header (issue 9).
        signed, _ = self._sign(self.body)
        secret = self.secrets[0]
        if len(secret) < 8:  # too short to tell apart from other header text
            return
        forms = (secret, base64.b64encode(secret.encode()).decode("ascii"))
        declared = describe(self._build()).credential_headers
        for name, value in signed.items():
            carries = any(form in value for form in forms)
            _check(not carries or name in declared, f"{name} carries the secret: declare it")

    def test_an_unsigned_id_or_type_header_comes_with_a_replay_key(self) -> None:
        # A captured request re-sent under another ID or type must still be a duplicate.
        # (A provider with `replays_per_type` keys it per type: under another type, once.)
        signed, body = self._sign(self.body)
        baseline = self._outcome(signed, body)
        if not isinstance(baseline, VerifiedEvent):
            return  # test_valid_signature_verifies reports it
        per_type = getattr(self._build(), "replays_per_type", False) is True
        for name in signed:
            if name in self.signature_headers:
                continue
            forged = self._outcome({**signed, name: "forged-b1e9"}, body)
            if not isinstance(forged, VerifiedEvent):
                continue
            if (forged.id, forged.type) != (baseline.id, baseline.type):
                kept = forged.replay_key == baseline.replay_key
                if per_type and forged.type != baseline.type:
                    kept = forged.replay_key is not None
                _check(
                    baseline.replay_key is not None and kept,
                    f"{name} sets the ID or type unsigned: set VerifiedEvent.replay_key",
                )

    def test_empty_body_never_crashes(self) -> None:
        outcome = self._outcome(self._sign(b"")[0], b"")
        _check(isinstance(outcome, VerifiedEvent | VerificationError), repr(outcome))

    # --- helpers -------------------------------------------------------------------------------

    def _build(
        self,
        *,
        secrets: tuple[str, ...] | None = None,
        options: Mapping[str, object] | None = None,
    ) -> Provider:
        # Read through the class: a plain function stored on the class would bind `self`. The
        # attribute's union type exists for mypy, which refuses a class where it expects a
        # callable class variable; at runtime both are factories.
        factory = cast(ProviderFactory, type(self).provider)
        built_secrets, built_options = self.source(self.secrets if secrets is None else secrets)
        return build_provider(
            factory,
            built_secrets,
            options=built_options if options is None else options,
            source=SOURCE,
        )

    def _sign(
        self, body: bytes, *, secret: str | None = None, skew: int = 0
    ) -> tuple[dict[str, str], bytes]:
        _check(len(self.secrets) >= 2, "set secrets to at least two secrets")
        _check(self.secrets[0] != self.secrets[1], "the first two secrets must differ")
        _check(bool(self.body), "set body to a non-empty body the provider accepts")
        signs_body = type(self).signed_body is not ProviderContract.signed_body
        _check(
            bool(self.signature_headers) or signs_body,
            "set signature_headers (the headers that sign), or override signed_body",
        )
        timestamp = int(time.time()) + skew
        secret = self.secrets[0] if secret is None else secret
        sent = self.signed_body(body, secret, timestamp) if body else body
        headers = self.sign(sent, secret, timestamp)
        return {name.lower(): value for name, value in headers.items()}, sent

    def _outcome(
        self, headers: Mapping[str, str], body: bytes, *, secrets: tuple[str, ...] | None = None
    ) -> _Outcome:
        provider = self._build(secrets=secrets)
        request = make_request(body, headers, received_at=time.time())
        try:
            result: _Outcome = provider.verify(request)
        except VerificationError as err:
            return err
        except Exception as err:
            raise AssertionError(
                f"verify raised {type(err).__name__}: only VerificationError subclasses may "
                "escape a provider (anything else is answered 500 as a bug)"
            ) from err
        return result

    def _expect(
        self,
        error: type[VerificationError],
        headers: Mapping[str, str],
        body: bytes,
        *,
        secrets: tuple[str, ...] | None = None,
    ) -> None:
        outcome = self._outcome(headers, body, secrets=secrets)
        _check(isinstance(outcome, error), f"expected {error.__name__}, got {outcome!r}")

    def _check_skewed(self, skew: int) -> None:
        outcome = self._outcome(*self._sign(self.body, skew=skew))
        if self.has_timestamp:
            _check(isinstance(outcome, StaleTimestamp), f"{skew:+d} s gave {outcome!r}")
        else:
            # Proves the declaration: a provider that does check timestamps must say so.
            _check(isinstance(outcome, VerifiedEvent), f"{skew:+d} s gave {outcome!r}")


def _check(condition: bool, message: str) -> None:
    # Not `assert`: this module is not rewritten by pytest, and must also hold under `python -O`.
    if not condition:
        raise AssertionError(message)
