"""The relay's batch query is served by an index (EXPLAIN on PostgreSQL), like the lists'."""

from __future__ import annotations

from {{ cookiecutter.package_name }}.clock import utcnow
from {{ cookiecutter.package_name }}.events.outbox import OutboxRepository
from {{ cookiecutter.package_name }}.settings import Settings
from tests.test_indexes import FILL_ITEMS, ON_POSTGRESQL, assert_index_scan, plan_of

pytestmark = ON_POSTGRESQL
FILL_OUTBOX = (
    "INSERT INTO outbox_events (event_id, event_type, payload, status, attempts, "
    "available_at, created_at) SELECT 'e-' || g, 'item.created', '{}', "
    "CASE WHEN g % 1000 = 0 THEN 'pending' ELSE 'sent' END, 0, now(), now() "
    "FROM generate_series(1, :n) AS g"
)


async def test_outbox_relay_batch_uses_an_index(settings: Settings) -> None:
    plan = await plan_of(
        settings,
        lambda s: OutboxRepository(s).claim_pending(utcnow(), 100),
        {"items": FILL_ITEMS, "outbox_events": FILL_OUTBOX},
    )
    assert_index_scan(plan, "ix_outbox_events_status_id")
