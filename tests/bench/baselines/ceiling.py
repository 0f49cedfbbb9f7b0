"""The ceiling: a bare confluent-kafka consumer that only decodes (fastavro), no state, no views.

No Python stream processor on this machine can read and decode faster, so its
events/s bounds what batching can still win.
"""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer

from tests.bench.baselines.common import Job, Progress, WireDecoder


def main() -> None:
    job = Job.from_env()
    decoder = WireDecoder(job.registry)
    consumer = Consumer(
        {
            "bootstrap.servers": job.bootstrap,
            "group.id": f"{job.app_id}-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe(job.sources)
    progress = Progress(job.total)
    try:
        done = False
        while not done:
            for message in consumer.consume(num_messages=1000, timeout=1.0):
                if message.error():
                    raise RuntimeError(str(message.error()))
                decoder.decode(message.value() or b"")
                done = progress.add()
        progress.write(job.result)
    finally:
        consumer.close()


if __name__ == "__main__":
    main()
