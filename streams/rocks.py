"""One RocksDB memory budget per worker, shared by every table partition.

Faust opens one RocksDB database per table and partition and gives each its
own block cache and memtables (``faust/stores/rocksdb.py``,
``RocksDBOptions.as_options``). A worker here has six tables of 12
partitions, active and standby: 72 databases, so even a small 8 MiB cache
and two 4 MiB memtables each add up to more than a gigabyte at worst, and a
million restored customers drove the worker past 500 MiB (B6 of
``make bench``).

RocksDB's answer is to share: one LRU block cache for every database, and
one write-buffer manager that counts every memtable against that same
cache, so the worker's RocksDB memory has one cap
(``OMNI_STREAMS__ROCKSDB_MEMORY_BYTES``). Databases that are read a lot get
more of it than idle ones, which a fixed per-partition split cannot do.
"""

from __future__ import annotations

from typing import Any

import faust
import rocksdict
from faust.stores.rocksdb import RocksDBOptions, Store
from faust.types.tables import TableT

from schemas.settings import StreamsSettings

BLOOM_BITS = 10


class SharedOptions(RocksDBOptions):
    """Faust's options with the worker's shared cache and memtable budget plugged in."""

    def __init__(
        self, cache: rocksdict.Cache, memtables: rocksdict.WriteBufferManager, **options: Any
    ) -> None:
        super().__init__(**options)
        self.cache = cache
        self.memtables = memtables

    def as_options(self) -> rocksdict.Options:
        options: rocksdict.Options = super().as_options()
        table = rocksdict.BlockBasedOptions()
        table.set_bloom_filter(BLOOM_BITS, block_based=True)
        table.set_block_cache(self.cache)
        table.set_index_type(rocksdict.BlockBasedIndexType.binary_search())
        options.set_block_based_table_factory(table)
        options.set_write_buffer_manager(self.memtables)
        return options


def budget(streams: StreamsSettings) -> tuple[rocksdict.Cache, rocksdict.WriteBufferManager]:
    """The process's block cache and the memtable manager that charges it."""
    cache = rocksdict.Cache(streams.rocksdb_memory_bytes)
    memtables = rocksdict.WriteBufferManager.new_write_buffer_manager_with_cache(
        streams.rocksdb_memtables_bytes, False, cache
    )
    return cache, memtables


def share_memory(app: faust.App, streams: StreamsSettings) -> int:
    """Give every RocksDB table of ``app`` the one budget; returns how many tables share it.

    Call after the tables are declared and before the worker starts: a store
    reads its options when it opens a partition's database.
    """
    cache, memtables = budget(streams)
    shared = 0
    for table in app.tables.values():
        store = table.data
        if isinstance(store, Store) and store.rocksdb_options.use_rocksdict:
            store.rocksdb_options = SharedOptions(
                cache, memtables, **(store.options or {}), use_rocksdict=True
            )
            shared += 1
    return shared


def read(table: TableT[Any, Any], key: Any) -> Any:
    """``table.get(key)``, asking only the key's own partition's database.

    Outside an agent (the query API) Faust's RocksDB store does not know a
    key's partition, so ``table.get`` asks every partition's database, twice
    (``in``, then the get): 24 lookups for one key of a 12-partition table,
    a sixth of the query API's CPU in the B5 profile. A key lives in the
    partition its source records were keyed to, which is the partition the
    router sends its requests to, so one lookup there is the answer.
    """
    store = table.data
    if not isinstance(store, Store):
        return table.get(key)
    stored = store._encode_key(key)
    topic = table.changelog_topic.get_topic_name()
    partition = table.app.producer.key_partition(topic, stored).partition
    db = store._dbs.get(partition)
    value = None if db is None else db.get(stored)
    return None if value is None else store._decode_value(value)
