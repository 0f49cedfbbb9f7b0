"""Local tables survive a clean stop and are dropped after a crash (:mod:`streams.cleanstop`)."""

from __future__ import annotations

from pathlib import Path

from streams import cleanstop


def tables_in(root: Path) -> Path:
    tabledir = root / "v1" / "tables"
    (tabledir / "context_by_customer-0.db").mkdir(parents=True)
    (tabledir / "context_by_customer-0.db" / "CURRENT").write_text("MANIFEST-000001\n")
    return tabledir


def test_a_first_start_keeps_what_is_there_and_marks_the_folder(tmp_path: Path) -> None:
    tabledir = tables_in(tmp_path)
    assert cleanstop.begin(tmp_path, tabledir) is False
    assert (tabledir / "context_by_customer-0.db" / "CURRENT").exists()
    assert (tmp_path / cleanstop.MARK).exists()


def test_tables_after_a_clean_stop_are_kept(tmp_path: Path) -> None:
    tabledir = tables_in(tmp_path)
    cleanstop.begin(tmp_path, tabledir)
    cleanstop.end(tmp_path)
    assert cleanstop.begin(tmp_path, tabledir) is False
    assert (tabledir / "context_by_customer-0.db" / "CURRENT").exists()


def test_tables_after_a_crash_are_dropped_and_the_folder_marked_again(tmp_path: Path) -> None:
    tabledir = tables_in(tmp_path)
    cleanstop.begin(tmp_path, tabledir)
    # no end(): the process was killed
    assert cleanstop.begin(tmp_path, tabledir) is True
    assert not tabledir.exists()
    assert (tmp_path / cleanstop.MARK).exists()


def test_a_crash_before_any_table_was_written_drops_nothing(tmp_path: Path) -> None:
    tabledir = tmp_path / "v1" / "tables"
    cleanstop.begin(tmp_path, tabledir)
    assert cleanstop.begin(tmp_path, tabledir) is False
