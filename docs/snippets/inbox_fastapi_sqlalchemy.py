"""FastAPI and SQLAlchemy: postbacks credited through the ORM, exactly once."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from fastapi import FastAPI, Request, Response
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

import payplane
from payplane import InboxTransaction, PostbackEvent, PostbackKind
from payplane.contrib.sqlalchemy import SQLAlchemyStore, session


class Base(DeclarativeBase):
    """The application's models."""


class Deposit(Base):
    """A credited deposit: one row per deposit event the PSP reports."""

    __tablename__ = "deposits"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(sa.String(64))
    event_key: Mapped[str] = mapped_column(sa.String(2048))
    customer_id: Mapped[str | None] = mapped_column(sa.String(200))
    # The exact decimal as text: no binary float anywhere, on every database.
    amount: Mapped[str] = mapped_column(sa.String(40))
    currency: Mapped[str] = mapped_column(sa.String(16))
    credited_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


def credit(event: PostbackEvent, transaction: InboxTransaction) -> None:
    """Credit a deposit. Runs once per distinct event.

    The session is the inbox's transaction: the row commits together with the
    "applied" mark, or not at all (if this raises, or the process dies first).
    """
    if event.kind is PostbackKind.DEPOSIT:
        session(transaction).add(
            Deposit(
                provider=event.provider,
                event_key=event.event_key,
                customer_id=event.customer_id,
                amount=str(event.amount.amount),
                currency=event.amount.currency,
                credited_at=event.occurred_at or datetime.now(UTC),
            )
        )


async def read_body(request: Request, limit: int) -> bytes:
    """The body, read no further than *limit* + 1 bytes: the inbox answers 413 past *limit*.

    Not ``await request.body()``: that reads a body of any size into memory first.
    """
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            break
    return bytes(body)


def create_app(engine: sa.Engine, providers: Mapping[str, object]) -> FastAPI:
    """Return the app: postbacks at ``POST /postbacks/{provider}``, deposits to read."""
    Base.metadata.create_all(engine)  # or your migrations (Alembic)
    inbox = payplane.Inbox(SQLAlchemyStore(engine), credit, providers=providers)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/postbacks/{provider}")
    async def postbacks(provider: str, request: Request) -> Response:
        body = await read_body(request, inbox.max_body)
        answer = await inbox.receive_async(provider, body, dict(request.headers))
        return Response(answer.content, answer.status_code, dict(answer.headers))

    @app.get("/customers/{customer_id}/deposits")
    def deposits(customer_id: str) -> list[dict[str, str]]:
        # The rest of the application uses the same engine as it always did.
        with Session(engine) as orm:
            rows = orm.scalars(
                sa.select(Deposit).where(Deposit.customer_id == customer_id).order_by(Deposit.id)
            )
            return [{"amount": row.amount, "currency": row.currency} for row in rows]

    return app


def engine_from_environment() -> sa.Engine:
    """``DATABASE_URL``: e.g. ``postgresql+psycopg://app@db/app`` or ``sqlite:///app.db``."""
    return sa.create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True)
