"""The Django app through a real project: the postback view, the admin, the commands.

Each test runs on the project's SQLite database (``ATOMIC_REQUESTS`` on) and on its
PostgreSQL database, the inbox named by ``PAYPLANE_INBOX`` (a factory in
``payplane_djangoproject.payments``), its handler writing ``Credit`` rows via the ORM.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import payplane_djangokit as kit
import payplane_storm as storm
import pytest

import payplane
from payplane import RecordState

django_db = kit.django_db

PROVIDER = "paykassma_wavepay"


@pytest.fixture
def inbox(django_db: str) -> Iterator[payplane.Inbox]:
    """The project's inbox on the test's database (``PAYPLANE_INBOX`` pointing at it)."""
    from django.test import override_settings  # noqa: PLC0415
    from payplane_djangoproject import payments  # noqa: PLC0415

    from payplane.contrib.django import get_inbox  # noqa: PLC0415

    with override_settings(PAYPLANE_INBOX=payments.setting(django_db)):
        yield get_inbox()


def _post(path: str, body: bytes, **extra: Any) -> Any:
    from django.test import Client  # noqa: PLC0415

    return Client(enforce_csrf_checks=True).post(
        path, body, content_type="application/json", **extra
    )


def _failed(inbox: payplane.Inbox, index: int) -> str:
    """Deliver postback *index* once with its first attempt failing: a failed record."""
    from payplane_djangoproject import payments  # noqa: PLC0415

    key = storm.event_key(index)
    payments.FAIL_FIRST.add(key)
    answer = inbox.receive(PROVIDER, storm.postback(index), {})
    assert answer.status_code != 200
    return key


def _dead(alias: str, index: int) -> str:
    """Record postback *index* in deferred mode and fail its only attempt: a dead record."""
    from payplane_djangoproject import payments  # noqa: PLC0415

    key = storm.event_key(index)
    payments.FAIL_FIRST.add(key)
    deferred = payments.make_inbox(alias, mode="deferred", max_attempts=1)
    assert deferred.receive(PROVIDER, storm.postback(index), {}).status_code == 200
    assert deferred.work(until_idle=True).dead == 1
    return key


# -- the view ---------------------------------------------------------------------------------


def test_view_applies_once_without_csrf_token(inbox: payplane.Inbox, django_db: str) -> None:
    """A POST without CSRF token is applied once; a repeat is acknowledged, not applied."""
    first = _post("/payplane/paykassma_wavepay", storm.postback(1))
    again = _post("/payplane/paykassma_wavepay", storm.postback(1))
    assert (first.status_code, first.content) == storm.OK
    assert (again.status_code, again.content) == storm.OK
    assert first["Content-Type"] == "application/json"
    assert kit.credit_counts(django_db) == {storm.event_key(1): 1}


def test_view_serves_accounts(inbox: payplane.Inbox) -> None:
    """``<prefix>/<provider>/<account>`` records the event under that account."""
    answer = _post("/payplane/paykassma_wavepay/shop-a/", storm.postback(2))
    assert (answer.status_code, answer.content) == storm.OK
    record = inbox.get(PROVIDER, storm.event_key(2), account="shop-a")
    assert record is not None
    assert record.state is RecordState.APPLIED


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_view_answers_405_to_other_methods(inbox: payplane.Inbox, method: str) -> None:
    """Any method but POST is 405, and nothing is recorded."""
    from django.test import Client  # noqa: PLC0415

    answer = getattr(Client(), method)("/payplane/paykassma_wavepay")
    assert answer.status_code == 405
    assert answer["Allow"] == "POST"
    assert inbox.records() == []


def test_view_answers_503_when_the_inbox_cannot_load(
    django_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An inbox that cannot be loaded: 503 (the PSP sends again), logged; never a 500."""
    del django_db
    from django.test import override_settings  # noqa: PLC0415
    from payplane_djangoproject import payments  # noqa: PLC0415

    with override_settings(PAYPLANE_INBOX=payments.BROKEN):
        answer = _post("/payplane/paykassma_wavepay", storm.postback(1))
    assert answer.status_code == 503
    assert json.loads(answer.content) == {
        "status": "error",
        "error": "the postback inbox is not available",
    }
    [logged] = [r for r in caplog.records if r.name == "payplane.contrib.django"]
    assert "PAYKASSMA_POSTBACK_ACCESS_KEY" in logged.getMessage() + str(logged.exc_info)


def test_view_unknown_provider_is_404(inbox: payplane.Inbox) -> None:
    """A provider (or account) the inbox does not accept is 404, from the inbox."""
    assert _post("/payplane/nope", storm.postback(3)).status_code == 404
    assert _post("/payplane/paykassma_wavepay/shop-z", storm.postback(3)).status_code == 404
    assert inbox.records() == []


def test_view_bad_signature_is_kept_scrubbed(inbox: payplane.Inbox) -> None:
    """A refused delivery is answered 400 and kept, the access key in its body scrubbed."""
    body = storm.postback(4, private="not-the-private-key-00")
    answer = _post("/payplane/paykassma_wavepay", body)
    assert answer.status_code == 400
    [rejected] = inbox.rejected()
    assert storm.ACCESS_KEY.encode() not in rejected.body
    assert b'"access_key":"***"' in rejected.body


def test_view_refuses_a_body_over_the_limit(inbox: payplane.Inbox) -> None:
    """A body over ``max_body`` is answered 413 and kept among the rejected."""
    answer = _post("/payplane/paykassma_wavepay", b"x" * (inbox.max_body + 1))
    assert answer.status_code == 413
    limit = inbox.max_body
    expected = f"[{PROVIDER}] body of {limit + 1} bytes is over the limit of {limit} bytes"
    assert [r.error for r in inbox.rejected()] == [expected]


# -- the admin --------------------------------------------------------------------------------


def _staff(*codenames: str) -> Any:
    from django.contrib.auth.models import Permission, User  # noqa: PLC0415
    from django.test import Client  # noqa: PLC0415

    user = User.objects.create_user("operator", password="operator-password", is_staff=True)
    wanted = ("view_inboxrecord", "view_rejectedpostback", *codenames)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="payplane", codename__in=wanted)
    )
    client = Client()
    client.force_login(user)
    return client


def _action(client: Any, action: str, record: payplane.InboxRecord, **extra: str) -> Any:
    return client.post(
        "/admin/payplane/inboxrecord/",
        {"action": action, "_selected_action": [str(record.id)], **extra},
        follow=True,
    )


def _record(inbox: payplane.Inbox, key: str) -> payplane.InboxRecord:
    record = inbox.get(PROVIDER, key)
    assert record is not None
    return record


def test_admin_retry_with_permission(inbox: payplane.Inbox, django_db: str) -> None:
    """With ``payplane.retry_inboxrecord`` the retry action applies a failed record."""
    key = _failed(inbox, 5)
    client = _staff("retry_inboxrecord")
    page = _action(client, "retry", _record(inbox, key))
    assert page.status_code == 200
    assert f"Retried: {PROVIDER}/{key}: applied" in page.content.decode()
    assert _record(inbox, key).state is RecordState.APPLIED
    assert kit.credit_counts(django_db) == {key: 1}


def test_admin_retry_without_permission(inbox: payplane.Inbox, django_db: str) -> None:
    """Without the permission the action is not offered, and posting it does nothing."""
    key = _failed(inbox, 6)
    client = _staff()
    listing = client.get("/admin/payplane/inboxrecord/")
    assert listing.status_code == 200
    assert 'value="retry"' not in listing.content.decode()
    _action(client, "retry", _record(inbox, key))
    assert _record(inbox, key).state is RecordState.FAILED
    assert kit.credit_counts(django_db) == {}


def test_admin_replay_asks_then_replays(inbox: payplane.Inbox, django_db: str) -> None:
    """Replay shows a confirmation page first; confirmed, it applies the event again."""
    key = storm.event_key(7)
    assert inbox.receive(PROVIDER, storm.postback(7), {}).status_code == 200
    client = _staff("replay_inboxrecord")
    asked = _action(client, "replay", _record(inbox, key))
    assert "Yes, replay them" in asked.content.decode()
    assert _record(inbox, key).replays == 0
    _action(client, "replay", _record(inbox, key), post="yes")
    assert _record(inbox, key).replays == 1
    assert kit.credit_counts(django_db) == {key: 2}


def test_admin_replay_without_permission(inbox: payplane.Inbox, django_db: str) -> None:
    """Without ``payplane.replay_inboxrecord`` a confirmed replay does nothing."""
    key = storm.event_key(8)
    assert inbox.receive(PROVIDER, storm.postback(8), {}).status_code == 200
    client = _staff("retry_inboxrecord", "requeue_inboxrecord")
    _action(client, "replay", _record(inbox, key), post="yes")
    assert _record(inbox, key).replays == 0
    assert kit.credit_counts(django_db) == {key: 1}


def test_admin_requeue_dead(inbox: payplane.Inbox, django_db: str) -> None:
    """With ``payplane.requeue_inboxrecord`` a dead record is due again; without, not."""
    key = _dead(django_db, 9)
    _action(_staff(), "requeue", _record(inbox, key))
    assert _record(inbox, key).state is RecordState.DEAD
    from django.contrib.auth.models import User  # noqa: PLC0415

    User.objects.all().delete()
    _action(_staff("requeue_inboxrecord"), "requeue", _record(inbox, key))
    assert _record(inbox, key).state is RecordState.RECEIVED


def test_admin_is_read_only_and_scrubbed(inbox: payplane.Inbox) -> None:
    """Record and rejected pages show the scrubbed body; nothing can be added or changed."""
    assert inbox.receive(PROVIDER, storm.postback(10), {}).status_code == 200
    inbox.receive(PROVIDER, storm.postback(11, private="not-the-private-key-00"), {})
    client = _staff()
    record = _record(inbox, storm.event_key(10))
    page = client.get(f"/admin/payplane/inboxrecord/{record.id}/change/").content.decode()
    [rejected] = inbox.rejected()
    refused = client.get(f"/admin/payplane/rejectedpostback/{rejected.id}/change/")
    assert refused.status_code == 200
    for html in (page, refused.content.decode()):
        assert "&quot;access_key&quot;:&quot;***&quot;" in html
        for secret in (storm.ACCESS_KEY, storm.PRIVATE_KEY):
            assert secret not in html
    assert client.get("/admin/payplane/inboxrecord/add/").status_code == 403
    changed = client.post(f"/admin/payplane/inboxrecord/{record.id}/change/", {"state": "x"})
    assert changed.status_code == 403


# -- the management command -------------------------------------------------------------------


def _command(*args: str) -> str:
    from django.core.management import call_command  # noqa: PLC0415

    out = io.StringIO()
    call_command("payplane_inbox", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_command_list_matches_the_cli(inbox: payplane.Inbox, django_db: str) -> None:
    """``payplane_inbox list --json`` prints what ``payplane inbox list --json`` does."""
    from click.testing import CliRunner  # noqa: PLC0415

    from payplane._cli import cli  # noqa: PLC0415

    for index in (12, 13):
        assert inbox.receive(PROVIDER, storm.postback(index), {}).status_code == 200
    ours = json.loads(_command("list", "--json"))
    assert [r["event_key"] for r in ours] == [storm.event_key(13), storm.event_key(12)]
    where = (
        ["--db", os.environ["PAYPLANE_DJANGO_SQLITE"]]
        if django_db == "default"
        else ["--postgres", os.environ["PAYPLANE_DJANGO_POSTGRES"]]
    )
    theirs = CliRunner().invoke(cli, ["inbox", *where, "list", "--json"])
    assert theirs.exit_code == 0, theirs.output
    assert json.loads(theirs.output) == ours
    table = _command("list", "--state", "applied").splitlines()
    assert table[0].split() == [
        "id",
        "provider",
        "account",
        "event",
        "key",
        "kind",
        "state",
        "attempts",
        "received",
        "at",
        "next",
        "attempt",
        "last",
        "error",
    ]
    assert len(table) == 4


def test_command_list_rejected(inbox: payplane.Inbox) -> None:
    """``list --rejected`` lists refused deliveries."""
    inbox.receive(PROVIDER, storm.postback(14, private="not-the-private-key-00"), {})
    [row] = json.loads(_command("list", "--rejected", "--json"))
    assert row["provider"] == PROVIDER
    assert row["error"].startswith("SignatureError")


def test_command_show(inbox: payplane.Inbox) -> None:
    """``show`` prints the record, its event and (``--body``) the scrubbed body."""
    assert inbox.receive(PROVIDER, storm.postback(15), {}).status_code == 200
    text = _command("show", PROVIDER, storm.event_key(15), "--body")
    assert "event:" in text
    assert '"access_key":"***"' in text
    assert storm.ACCESS_KEY not in text
    data = json.loads(_command("show", PROVIDER, storm.event_key(15), "--json"))
    assert data["state"] == "applied"


def test_command_show_unknown_fails(inbox: payplane.Inbox) -> None:
    """``show`` of an event never recorded is a CommandError, exit code 1."""
    from django.core.management import CommandError  # noqa: PLC0415

    with pytest.raises(CommandError, match="no recorded postback") as raised:
        _command("show", PROVIDER, "ingoing:nothing")
    assert raised.value.returncode == 1


def test_command_retry(inbox: payplane.Inbox, django_db: str) -> None:
    """``retry`` applies a failed record through the project's handler."""
    key = _failed(inbox, 16)
    assert _command("retry", PROVIDER, key) == f"{PROVIDER}/{key}: applied\n"
    assert kit.credit_counts(django_db) == {key: 1}


def test_command_replay(inbox: payplane.Inbox, django_db: str) -> None:
    """``replay --yes`` runs the handler again for an applied record."""
    key = storm.event_key(17)
    assert inbox.receive(PROVIDER, storm.postback(17), {}).status_code == 200
    assert (
        _command("replay", PROVIDER, key, "--yes") == f"{PROVIDER}/{key}: replayed (replays: 1)\n"
    )
    assert kit.credit_counts(django_db) == {key: 2}


def test_command_replay_asks(inbox: payplane.Inbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ``--yes``, ``replay`` asks, and a "no" replays nothing."""
    from django.core.management import CommandError  # noqa: PLC0415

    key = storm.event_key(18)
    assert inbox.receive(PROVIDER, storm.postback(18), {}).status_code == 200
    monkeypatch.setattr("builtins.input", lambda _prompt: "n")
    with pytest.raises(CommandError, match="Aborted"):
        _command("replay", PROVIDER, key)
    assert _record(inbox, key).replays == 0


def test_command_requeue_and_work(inbox: payplane.Inbox, django_db: str) -> None:
    """``requeue`` makes a dead event due; ``work --until-idle`` applies it."""
    key = _dead(django_db, 19)
    assert _command("requeue", PROVIDER, key) == f"{PROVIDER}/{key}: received\n"
    assert _command("work", "--until-idle") == "1 applied, 0 failed, 0 dead\n"
    assert _record(inbox, key).state is RecordState.APPLIED
    assert kit.credit_counts(django_db) == {key: 1}


def test_command_requeue_all_dead(inbox: payplane.Inbox, django_db: str) -> None:
    """``requeue --all-dead`` re-queues every dead event."""
    _dead(django_db, 20)
    _dead(django_db, 21)
    assert json.loads(_command("requeue", "--all-dead", "--json")) == {"requeued": 2}


def test_command_prune(inbox: payplane.Inbox) -> None:
    """``prune`` deletes applied records older than the age (a dry run only counts)."""
    assert inbox.receive(PROVIDER, storm.postback(22), {}).status_code == 200
    time.sleep(1.1)  # the record must be older than the smallest age, one second
    dry = _command("prune", "--applied-older-than", "1s", "--dry-run")
    assert dry == "would delete 1 record(s) and 0 refused delivery(ies)\n"
    assert len(inbox.records()) == 1
    assert json.loads(_command("prune", "--applied-older-than", "1s", "--json")) == {
        "records": 1,
        "rejected": 0,
        "dry_run": False,
    }
    assert inbox.records() == []


def test_command_with_a_failing_inbox_names_the_setting(django_db: str) -> None:
    """An inbox module or factory that raises: a usage error naming PAYPLANE_INBOX."""
    del django_db
    from django.core.management.base import CommandError  # noqa: PLC0415
    from django.test import override_settings  # noqa: PLC0415
    from payplane_djangoproject import payments  # noqa: PLC0415

    with override_settings(PAYPLANE_INBOX=payments.BROKEN), pytest.raises(CommandError) as raised:
        _command("list")
    assert raised.value.returncode == 2
    assert str(raised.value).startswith(f"settings.PAYPLANE_INBOX = {payments.BROKEN!r}: ")


def test_command_bad_age_is_usage_error(inbox: payplane.Inbox) -> None:
    """A malformed age is a usage error (exit code 2), as in the CLI."""
    from django.core.management import CommandError  # noqa: PLC0415

    with pytest.raises(CommandError, match="expects an age") as raised:
        _command("prune", "--applied-older-than", "soon")
    assert raised.value.returncode == 2
