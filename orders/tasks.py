"""Thin Celery tasks over the order chain."""

from __future__ import annotations

from celery import shared_task

from orders import chain


@shared_task(acks_late=True)
def order_chain(order_id: int, trigger: str = "", status: str = "", wake_relay: bool = False) -> None:
    """After capture, after a resolved hold: the order's steps, one pick-up for all of them
    (`status`: the one the sender committed the order in, if it knows it; saves a read;
    `wake_relay`: the sender handed it the relay's wake-up)."""
    chain.order_chain_run(order_id=order_id, trigger=trigger, status=status, wake_relay=wake_relay)


@shared_task
def order_chains_due() -> int:
    return chain.order_chains_due()
