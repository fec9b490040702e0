"""gateway.errors: the error hierarchy and `describe`, which never leaks a broker password."""

from __future__ import annotations

from gateway.errors import ConfigError, GatewayError, PublishFailed, describe

URL = "amqp://guest:Sup3rS3cretPassw0rd@rabbit.example:5672/"
PASSWORD = "Sup3rS3cretPassw0rd"


def test_describe_masks_the_password_wherever_it_appears() -> None:
    err = ConnectionError(f"cannot connect to {URL} (password {PASSWORD} rejected)")
    text = describe(err, URL)
    assert PASSWORD not in text
    assert text == (
        "ConnectionError: cannot connect to amqp://guest:***@rabbit.example:5672/ "
        "(password *** rejected)"
    )


def test_describe_starts_with_the_exception_type() -> None:
    assert describe(TimeoutError("no answer"), URL) == "TimeoutError: no answer"


def test_describe_of_exception_without_message_is_its_type() -> None:
    assert describe(TimeoutError(), URL) == "TimeoutError"


def test_describe_without_password_in_url_leaves_text_alone() -> None:
    err = OSError("cannot reach amqp://rabbit.example/")
    assert describe(err, "amqp://rabbit.example/") == "OSError: cannot reach amqp://rabbit.example/"


def test_describe_is_one_bounded_line_length() -> None:
    assert len(describe(RuntimeError("x" * 5000), URL)) == 300


def test_describe_never_leaks_part_of_a_password_cut_by_truncation() -> None:
    # Place the URL so that the 300-character cut falls in the middle of the password.
    prefix = "x" * (300 - len("RuntimeError: ") - len("amqp://guest:") - 8)
    text = describe(RuntimeError(prefix + URL), URL)
    assert len(text) <= 300
    assert PASSWORD[:8] not in text


def test_publish_failed_keeps_reason_as_label_and_in_message() -> None:
    err = PublishFailed("timeout", "no confirm within 5s")
    assert err.reason == "timeout"
    assert str(err) == "timeout: no confirm within 5s"
    assert isinstance(err, GatewayError)


def test_every_package_root_and_config_error_derive_from_hookgate_error() -> None:
    # The `hookgate` command prints any HookgateError as one line; nothing escapes as a trace.
    from consumers.errors import ConsumerError
    from hookgate.errors import HookgateError, TopologyError

    for error in (ConfigError, GatewayError, ConsumerError, TopologyError):
        assert issubclass(error, HookgateError)


def test_redact_masks_the_password_as_written_and_decoded_on_one_line() -> None:
    from hookgate.errors import redact

    url = "amqp://user:p%40ss%2Fword@host:5672/"
    text = redact("failed for p@ss/word\nand p%40ss%2Fword", url)
    assert "p@ss/word" not in text
    assert "p%40ss%2Fword" not in text
    assert "\n" not in text
