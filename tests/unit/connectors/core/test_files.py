"""Watched folders: a half-written file is never read early; read files move to done/."""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from connectors.core.files import Settler, archive, candidate, ready_files
from connectors.core.rows import Reject, csv_rows, json_rows, split_lines

SETTLE = 2.0


def write(path: Path, data: bytes, age_s: float, now: float) -> None:
    path.write_bytes(data)
    os.utime(path, (now - age_s, now - age_s))


def test_only_row_files_that_are_not_temporary_are_candidates() -> None:
    for name in ("receipts-1.csv", "r.jsonl", "r.NDJSON"):
        assert candidate(name), name
    for name in (".r.csv", "r.csv.tmp", "r.csv.part", "r.csv.done", "r.csv~", "notes.txt"):
        assert not candidate(name), name


def test_a_file_is_ready_after_two_polls_without_change_and_settle_seconds(tmp_path: Path) -> None:
    now = 1_800_000_000.0
    settler = Settler(SETTLE)
    write(tmp_path / "a.csv", b"h\n1\n", age_s=5, now=now)
    assert ready_files(tmp_path, settler, now) == []  # first sight: not yet
    assert ready_files(tmp_path, settler, now + 1) == [tmp_path / "a.csv"]


def test_a_growing_or_young_file_waits(tmp_path: Path) -> None:
    now = 1_800_000_000.0
    settler = Settler(SETTLE)
    path = tmp_path / "a.csv"
    write(path, b"h\n1\n", age_s=0.5, now=now)
    ready_files(tmp_path, settler, now)
    assert ready_files(tmp_path, settler, now + 1) == []  # modified 1.5 s ago
    write(path, b"h\n1\n2\n", age_s=0, now=now + 1.8)  # still being written
    assert ready_files(tmp_path, settler, now + 1.8) == []
    assert ready_files(tmp_path, settler, now + 3) == []  # changed since the last poll
    assert ready_files(tmp_path, settler, now + 4) == [path]


def test_a_file_cut_mid_line_waits_five_times_longer(tmp_path: Path) -> None:
    now = 1_800_000_000.0
    settler = Settler(SETTLE)
    write(tmp_path / "a.csv", b"h\n1,2", age_s=3, now=now)
    ready_files(tmp_path, settler, now)
    assert ready_files(tmp_path, settler, now + 1) == []
    assert ready_files(tmp_path, settler, now + 7) == [tmp_path / "a.csv"]


def test_a_done_marker_makes_a_file_ready_at_once(tmp_path: Path) -> None:
    now = 1_800_000_000.0
    write(tmp_path / "a.csv", b"h\n1,2", age_s=0, now=now)
    (tmp_path / "a.csv.done").write_bytes(b"")
    assert ready_files(tmp_path, Settler(SETTLE), now) == [tmp_path / "a.csv"]


def test_archive_moves_the_file_writes_the_report_and_never_overwrites(tmp_path: Path) -> None:
    for round_ in (1, 2):
        path = tmp_path / "a.csv"
        path.write_bytes(b"h\nbad\n")
        (tmp_path / "a.csv.done").write_bytes(b"")
        rejects = [Reject(2, b"bad", "malformed_row", "1 cells")] if round_ == 1 else []
        target = archive(path, rejects, {"published": 0})
        assert not path.exists()
        assert not (tmp_path / "a.csv.done").exists()
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == [
        "a.1.csv",
        "a.csv",
        "a.csv.rejects.json",
    ]
    assert target.name == "a.1.csv"
    report = orjson.loads((tmp_path / "done" / "a.csv.rejects.json").read_bytes())
    assert report["rejects"] == [
        {"line": 2, "reason": "malformed_row", "error": "1 cells", "raw": "bad"}
    ]


def test_rows_keep_their_line_numbers_and_bytes() -> None:
    lines = split_lines(b'\xef\xbb\xbfSku , Qty\r\nA,1\n\nB\n"C,2\nD,\xff\n')
    rows, rejects = csv_rows(lines)
    assert [(r.line.number, r.values) for r in rows] == [(2, {"sku": "A", "qty": "1"})]
    assert [(r.line, r.raw) for r in rejects] == [(4, b"B"), (5, b'"C,2'), (6, b"D,\xff")]
    rows, rejects = json_rows(split_lines(b'{"a": 1}\n[1]\n{oops\n'))
    assert [r.values for r in rows] == [{"a": 1}]
    assert [r.line for r in rejects] == [2, 3]
    assert rejects[0].message == "not a JSON object"
