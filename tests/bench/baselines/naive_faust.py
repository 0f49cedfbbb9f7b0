"""Baseline: the stock and cart rules in Faust, written the obvious way.

One agent per source, ``async for event in stream.events()``, decode,
``table[k] = f(table[k], event)``, one ``send`` per view; Faust's default
settings apart from the RocksDB store (the same store as our processors) and
what a benchmark needs (earliest offsets, a free web port).

Run by the driver as ``python -m tests.bench.baselines.naive_faust`` with the
job in ``BENCH_JOB`` (see :class:`tests.bench.baselines.common.Job`).
"""

from __future__ import annotations

from typing import Any

import faust

from tests.bench.baselines.common import (
    Job,
    Progress,
    WireDecoder,
    fold_cart,
    fold_stock,
    view_key,
)


def build(job: Job) -> faust.App:
    app = faust.App(
        job.app_id,
        broker=f"kafka://{job.bootstrap}",
        store="rocksdb://",
        datadir=job.data_dir,
        web_port=job.web_port,
        web_host="127.0.0.1",
        web_bind="127.0.0.1",
        topic_partitions=6,
        consumer_auto_offset_reset="earliest",
    )
    decoder = WireDecoder(job.registry)
    progress = Progress(job.total)
    stock = app.Table("stock", partitions=6)
    carts = app.Table("carts", partitions=6)
    views = {role: app.topic(name, value_serializer="json") for role, name in job.views.items()}

    async def emit(produced: list[tuple[str, dict[str, Any]]]) -> None:
        for role, view in produced:
            await views[role].send(key=view_key(role, view).encode(), value=view)

    async def count() -> None:
        if progress.add():
            await app.producer.flush()
            progress.write(job.result)

    @app.agent(app.topic(job.stock_topic, value_serializer="raw"))
    async def stock_agent(stream: Any) -> None:
        async for event in stream.events():
            _, movement = decoder.decode(event.value)
            sku = movement["sku"]
            stock[sku], produced = fold_stock(stock.get(sku), movement)
            await emit(produced)
            await count()

    @app.agent(app.topic(job.cart_topic, value_serializer="raw"))
    async def cart_agent(stream: Any) -> None:
        async for event in stream.events():
            record, value = decoder.decode(event.value)
            key = event.key.decode()
            carts[key], produced = fold_cart(carts.get(key), record, value)
            await emit(produced)
            await count()

    @app.agent(app.topic(*job.other_topics, value_serializer="raw"))
    async def other_agent(stream: Any) -> None:
        async for event in stream.events():
            decoder.decode(event.value)
            await count()

    return app


def main() -> None:
    job = Job.from_env()
    worker = faust.Worker(build(job), loglevel="warning", quiet=True)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
