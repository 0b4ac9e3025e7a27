"""Read-only admin pages for the inbox, with the operator's actions.

*Inbox records* list and show recorded postbacks (state, attempts, errors, the kept
headers, the event and the raw body, all as stored: payplane scrubs every secret value
before it stores anything); *rejected deliveries* the refused ones. Nothing can be
added, changed or deleted here. Three actions act through the project's inbox
(``settings.PAYPLANE_INBOX``), each behind a permission of its own:

* **retry** (``payplane.retry_inboxrecord``): apply records not applied yet (after a
  handler failure; a dead one is tried once more);
* **replay** (``payplane.replay_inboxrecord``): run the handler again for applied
  records, after a confirmation page: the one way to apply an event twice;
* **requeue** (``payplane.requeue_inboxrecord``): make dead (or failed) records due
  again for the deferred mode's workers, with a fresh count of attempts.

The pages read the database of the inbox's :class:`~payplane.contrib.django.DjangoStore`.
The change list runs outside ``ATOMIC_REQUESTS``: the inbox commits each event itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db import transaction
from django.template.response import TemplateResponse
from django.utils.html import format_html

from payplane._inbox._store import RecordState
from payplane.contrib.django._settings import get_inbox
from payplane.contrib.django._store import DjangoStore
from payplane.contrib.django.models import InboxRecord, RejectedPostback

__all__ = ["InboxRecordAdmin", "RejectedPostbackAdmin"]


def _pretty(text: str | None) -> str:
    if not text:
        return "-"
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False, sort_keys=True)
    except ValueError:
        return text


def _pre(text: str) -> Any:  # noqa: ANN401 - Django's SafeString
    return format_html('<pre style="white-space: pre-wrap">{}</pre>', text)


def _body(body: bytes | memoryview | None) -> Any:  # noqa: ANN401 - Django's SafeString
    return _pre(bytes(body or b"").decode("utf-8", "replace") or "-")


class _ReadOnly(admin.ModelAdmin):  # type: ignore[misc]  # Django is untyped
    """View only: no add, change or delete, whatever the user's permissions say."""

    list_per_page = 50

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:  # noqa: ANN401
        """Nothing is added here: the inbox records."""
        del request, obj
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:  # noqa: ANN401
        """Nothing is changed here: act through the actions."""
        del request, obj
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:  # noqa: ANN401
        """Nothing is deleted here: ``payplane_inbox prune`` deletes by age."""
        del request, obj
        return False

    def get_queryset(self, request: Any) -> Any:  # noqa: ANN401
        """Rows of the database the project's inbox runs on (its ``DjangoStore``'s)."""
        queryset = super().get_queryset(request)
        store = get_inbox().store
        return queryset.using(store.using) if isinstance(store, DjangoStore) else queryset

    def get_urls(self) -> list[Any]:
        """The admin's URLs, the change list (where actions run) exempt from ATOMIC_REQUESTS."""
        urls: list[Any] = super().get_urls()
        for pattern in urls:
            if str(getattr(pattern, "name", "")).endswith("_changelist"):
                for alias in settings.DATABASES:
                    transaction.non_atomic_requests(using=alias)(pattern.callback)
        return urls


def _permission(codename: str) -> Callable[[Any, Any], bool]:
    def check(self: Any, request: Any) -> bool:  # noqa: ANN401
        del self
        return bool(request.user.has_perm(f"payplane.{codename}"))

    check.__name__ = f"has_{codename.split('_', maxsplit=1)[0]}_permission"
    check.__doc__ = f"Whether the user holds ``payplane.{codename}``."
    return check


@admin.register(InboxRecord)
class InboxRecordAdmin(_ReadOnly):
    """Recorded postbacks, newest first; retry, replay and requeue as actions."""

    list_display = (
        "id",
        "provider",
        "account",
        "event_key",
        "kind",
        "state",
        "attempts",
        "replays",
        "received_at",
        "next_attempt_at",
        "error",
    )
    list_display_links = ("id", "event_key")
    list_filter = ("state", "provider", "account")
    search_fields = ("=event_key",)
    fields = (
        "provider",
        "account",
        "event_key",
        "kind",
        "state",
        "attempts",
        "replays",
        "received_at",
        "applied_at",
        "next_attempt_at",
        "dead_at",
        "last_error",
        "kept_headers",
        "event_data",
        "raw_body",
    )
    readonly_fields = fields
    actions = ("retry", "replay", "requeue")

    has_retry_permission = _permission("retry_inboxrecord")
    has_replay_permission = _permission("replay_inboxrecord")
    has_requeue_permission = _permission("requeue_inboxrecord")

    @admin.display(description="last error")  # type: ignore[untyped-decorator]
    def error(self, record: InboxRecord) -> str:
        """The last error, cut to 60 characters."""
        text = record.last_error or "-"
        return text if len(text) <= 60 else text[:59] + "…"  # noqa: PLR2004 - the CLI's width

    @admin.display(description="headers")  # type: ignore[untyped-decorator]
    def kept_headers(self, record: InboxRecord) -> Any:  # noqa: ANN401
        """The headers kept to verify the delivery again (secret values already ``***``)."""
        return _pre(_pretty(record.headers))

    @admin.display(description="event")  # type: ignore[untyped-decorator]
    def event_data(self, record: InboxRecord) -> Any:  # noqa: ANN401
        """The parsed event as stored (secret values already ``***``)."""
        return _pre(_pretty(record.event))

    @admin.display(description="body")  # type: ignore[untyped-decorator]
    def raw_body(self, record: InboxRecord) -> Any:  # noqa: ANN401
        """The body as received, secret values already replaced by ``***``."""
        return _body(record.body)

    def _each(
        self,
        request: Any,  # noqa: ANN401
        queryset: Any,  # noqa: ANN401
        act: Callable[[Any, InboxRecord], tuple[bool, str]],
        verb: str,
    ) -> None:
        inbox = get_inbox()
        done: list[str] = []
        for record in queryset.order_by("id"):
            try:
                ok, text = act(inbox, record)
            except (LookupError, ValueError, ConnectionError, RuntimeError) as exc:
                ok, text = False, f"{record}: {exc}"
            if ok:
                done.append(text)
            else:
                self.message_user(request, f"Not {verb}: {text}", messages.ERROR)
        if done:
            self.message_user(request, f"{verb.capitalize()}: {'; '.join(done)}", messages.SUCCESS)

    @admin.action(description="Retry: apply the selected records now", permissions=["retry"])  # type: ignore[untyped-decorator]
    def retry(self, request: Any, queryset: Any) -> None:  # noqa: ANN401
        """Apply each selected record not applied yet; report the state it ends in."""

        def act(inbox: Any, record: InboxRecord) -> tuple[bool, str]:  # noqa: ANN401
            state = inbox.retry(record.provider, record.event_key, account=record.account)
            ok = state in {RecordState.APPLIED, RecordState.IGNORED}
            return ok, f"{record}: {state.value}"

        self._each(request, queryset, act, "retried")

    @admin.action(description="Replay: run the handler again", permissions=["replay"])  # type: ignore[untyped-decorator]
    def replay(self, request: Any, queryset: Any) -> Any:  # noqa: ANN401
        """Run the handler again for each selected applied record, once confirmed."""
        if request.POST.get("post") != "yes":
            return TemplateResponse(
                request,
                "payplane/admin/replay_confirmation.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Replay the selected records?",
                    "records": list(queryset.order_by("id")),
                    "opts": self.model._meta,  # noqa: SLF001 - Django's own idiom
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                },
            )

        def act(inbox: Any, record: InboxRecord) -> tuple[bool, str]:  # noqa: ANN401
            completed = inbox.replay(record.provider, record.event_key, account=record.account)
            return completed, f"{record}: {'replayed' if completed else 'the handler failed'}"

        self._each(request, queryset, act, "replayed")
        return None

    @admin.action(description="Requeue: make dead records due again", permissions=["requeue"])  # type: ignore[untyped-decorator]
    def requeue(self, request: Any, queryset: Any) -> None:  # noqa: ANN401
        """Make each selected dead or failed record due now, with a fresh count."""

        def act(inbox: Any, record: InboxRecord) -> tuple[bool, str]:  # noqa: ANN401
            state = inbox.requeue(record.provider, record.event_key, account=record.account)
            return state is RecordState.RECEIVED, f"{record}: {state.value}"

        self._each(request, queryset, act, "re-queued")


@admin.register(RejectedPostback)
class RejectedPostbackAdmin(_ReadOnly):
    """Refused deliveries (bad signature, malformed, too large), newest first."""

    list_display = ("id", "provider", "account", "received_at", "short_error")
    list_filter = ("provider", "account")
    fields = ("provider", "account", "received_at", "error", "kept_headers", "raw_body")
    readonly_fields = fields

    @admin.display(description="error")  # type: ignore[untyped-decorator]
    def short_error(self, rejected: RejectedPostback) -> str:
        """Why it was refused, cut to 80 characters."""
        text = rejected.error or "-"
        return text if len(text) <= 80 else text[:79] + "…"  # noqa: PLR2004 - the CLI's width

    @admin.display(description="headers")  # type: ignore[untyped-decorator]
    def kept_headers(self, rejected: RejectedPostback) -> Any:  # noqa: ANN401
        """The headers the provider reads to verify a delivery (secret values ``***``)."""
        return _pre(_pretty(rejected.headers))

    @admin.display(description="body")  # type: ignore[untyped-decorator]
    def raw_body(self, rejected: RejectedPostback) -> Any:  # noqa: ANN401
        """At most 64 KiB of the body, secret values already replaced by ``***``."""
        return _body(rejected.body)
