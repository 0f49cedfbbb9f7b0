"""Baseline: the stock and cart rules in Quix Streams, with its RocksDB state.

One ``StreamingDataFrame`` per source, ``apply(..., stateful=True)`` with the
key-scoped state, views produced with ``to_topic``; Quix's defaults otherwise
(at-least-once, changelog topics, 5 s commit interval).

quixstreams pins ``confluent-kafka<2.13``, older than the project's, so this
runs in its own virtualenv that the driver creates under ``.omni/bench/``
(:func:`tests.bench.baselines.quix_env.python`); it imports only
:mod:`tests.bench.baselines.common` and the pure rules from the repository.
"""

from __future__ import annotations

from typing import Any

from quixstreams import Application

from tests.bench.baselines.common import (
    Job,
    Progress,
    WireDecoder,
    fold_cart,
    fold_stock,
    view_key,
)


def build(job: Job) -> tuple[Application, Progress]:
    app = Application(
        broker_address=job.bootstrap,
        consumer_group=job.app_id,
        auto_offset_reset="earliest",
        state_dir=job.data_dir,
        loglevel="WARNING",
    )
    decoder = WireDecoder(job.registry)
    progress = Progress(job.total)
    out = {role: app.topic(name) for role, name in job.views.items()}

    def count() -> None:
        if progress.add():
            app.stop()

    def stock(value: bytes, state: Any) -> list[tuple[str, dict[str, Any]]]:
        _, movement = decoder.decode(value)
        new, produced = fold_stock(state.get("stock"), movement)
        state.set("stock", new)
        count()
        return produced

    def cart(value: bytes, state: Any) -> list[tuple[str, dict[str, Any]]]:
        record, event = decoder.decode(value)
        new, produced = fold_cart(state.get("cart"), record, event)
        if new is not None:
            state.set("cart", new)
        count()
        return produced

    def other(value: bytes) -> None:
        decoder.decode(value)
        count()

    for source, fold in ((job.stock_topic, stock), (job.cart_topic, cart)):
        sdf = app.dataframe(app.topic(source, value_deserializer="bytes"))
        sdf = sdf.apply(fold, stateful=True, expand=True)
        for role, topic in out.items():
            chosen = sdf.filter(lambda view, role=role: view[0] == role)
            chosen = chosen.apply(lambda view: view[1])
            chosen.to_topic(topic, key=lambda view, role=role: view_key(role, view).encode())
    for source in job.other_topics:
        app.dataframe(app.topic(source, value_deserializer="bytes")).update(other)
    return app, progress


def main() -> None:
    job = Job.from_env()
    app, progress = build(job)
    app.run()  # returns after app.stop(): the last checkpoint (produce, commit) is done
    progress.write(job.result)


if __name__ == "__main__":
    main()
