"""The store interface on local disk and in S3 (moto's S3 server on loopback, see
``usage_assets_tests/s3_server.py``: no real S3-compatible server can run here), and
what an S3 reader sees while a write fails or its process is killed half-way."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
from datetime import date

import polars as pl
import pytest

from usage_assets.storage.lake import Lake, MissingPartitionsError
from usage_assets.storage.s3 import FOLDER_MANIFEST, S3Store
from usage_assets.storage.store import LocalStore, ObjectStoreError, S3Options, Store, open_store

DAY = date(2026, 5, 1)
FRAME = pl.DataFrame({"registry_id": ["a", "b", "c"], "events": [1, 5, 9]})


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path) -> Store:
    """The same contract, once on local disk and once in a bucket under a prefix."""
    if request.param == "local":
        return open_store(tmp_path / "root")
    bucket = request.getfixturevalue("s3_bucket")
    return open_store(f"s3://{bucket}/some/prefix/", request.getfixturevalue("s3_options"))


def test_open_store_picks_the_store_by_location(tmp_path, s3_options):
    assert isinstance(open_store(tmp_path), LocalStore) and isinstance(open_store(str(tmp_path)), LocalStore)
    s3 = open_store("s3://bucket/a/b/", s3_options)
    assert isinstance(s3, S3Store) and (s3.bucket, s3.prefix, s3.root) == ("bucket", "a/b", "s3://bucket/a/b")
    assert open_store("S3://bucket", s3_options).root == "s3://bucket"
    with pytest.raises(ValueError, match="names no bucket"):
        open_store("s3:///prefix", s3_options)


def test_objects_are_written_read_listed_and_absent_ones_say_so(store):
    assert not store.exists("a/one.json") and store.list_keys("a") == [] and store.folders() == []
    with pytest.raises(FileNotFoundError):
        store.read_bytes("a/one.json")
    store.write_bytes("a/one.json", b"1")
    store.write_bytes("a/one.json", b"2")  # replaced
    store.write_bytes("a/b/two.json", b"22")
    store.write_parquet("c/part-0.parquet", FRAME)
    assert store.exists("a/one.json") and store.read_bytes("a/one.json") == b"2"
    assert store.list_keys("a") == ["b/two.json", "one.json"]
    assert store.folders() == ["a", "c"] and store.folders("a") == ["b"]
    assert store.read_parquet("c/part-0.parquet").equals(FRAME)
    assert str(store.location("a/one.json")) == f"{store.root}/a/one.json"


def test_scans_are_lazy_and_push_projections_and_predicates_into_the_files(store):
    store.write_parquet("d/date=2026-05-01/part-0.parquet", FRAME)
    store.write_parquet("d/date=2026-05-02/part-0.parquet", FRAME.with_columns(events=pl.col("events") * 10))
    scan = store.scan_parquet(["d/date=2026-05-01/part-0.parquet", "d/date=2026-05-02/part-0.parquet"])
    query = scan.filter(pl.col("events") > 5).select("events")
    plan = query.explain()
    # The scan itself reads one of the two columns and filters while reading.
    assert plan.startswith("Parquet SCAN") and "PROJECT 1/2 COLUMNS" in plan and 'SELECTION: col("events") > 5' in plan
    assert query.collect()["events"].to_list() == [9, 10, 50, 90]


def test_a_folder_is_replaced_whole(store):
    assert store.folder_key("2026-05-01") is None
    store.write_folder("2026-05-01", {"a.md": b"one", "b.png": b"one"})
    store.write_folder("2026-05-01", {"a.md": b"two", "c.json": b"two"})
    current = store.folder_key("2026-05-01")
    names = sorted(key for key in store.list_keys(current))
    assert names == ["a.md", "c.json"]
    assert {store.read_bytes(f"{current}/{name}") for name in names} == {b"two"}
    assert store.folders() == ["2026-05-01"]


def test_the_lake_in_s3_keeps_the_hive_layout_and_reads_history(s3_bucket, s3_options):
    lake = Lake(f"s3://{s3_bucket}/data", s3_options)
    for offset, day in enumerate([date(2026, 5, 1), date(2026, 5, 2), date(2026, 5, 4)]):
        lake.write_frame("instance_days", day, FRAME.with_columns(events=pl.col("events") + offset))
    lake.write_json("fleet_metrics", DAY, {"b": 1, "a": [1, 2]})
    assert lake.days("instance_days") == [date(2026, 5, 1), date(2026, 5, 2), date(2026, 5, 4)]
    assert lake.days("instance_days", "data.json") == [] and lake.days("fleet_metrics", "data.json") == [DAY]
    assert lake.path("instance_days", DAY) == f"s3://{s3_bucket}/data/instance_days/date=2026-05-01/part-0.parquet"
    assert lake.read_json("fleet_metrics", DAY) == {"a": [1, 2], "b": 1}
    scanned = lake.scan_days("instance_days", date(2026, 5, 1), date(2026, 5, 2)).select(pl.col("events").sum())
    assert scanned.collect().item() == 15 + 18
    with pytest.raises(MissingPartitionsError, match="missing 1 day"):
        lake.scan_days("instance_days", date(2026, 5, 1), date(2026, 5, 4))
    with pytest.raises(MissingPartitionsError):
        lake.read_frame("instance_days", date(2026, 5, 3))


def failing_put(store: S3Store, when) -> None:
    """Make every PUT of ``store`` whose key ``when(key)`` accepts raise before it is sent."""

    def hook(params, **_):
        if when(params["Key"]):
            raise ConnectionResetError("connection reset while uploading")

    store.client.meta.events.register("before-parameter-build.s3.PutObject", hook)


def test_a_failed_partition_write_leaves_the_previous_object(s3_bucket, s3_options):
    lake = Lake(f"s3://{s3_bucket}/data", s3_options)
    lake.write_frame("raw_events", DAY, FRAME)
    failing_put(lake.store, lambda key: True)
    with pytest.raises(ConnectionResetError):
        lake.write_frame("raw_events", DAY, FRAME.head(1))
    assert Lake(f"s3://{s3_bucket}/data", s3_options).read_frame("raw_events", DAY).equals(FRAME)


def test_a_report_folder_is_never_seen_half_written_when_the_manifest_put_fails(s3_bucket, s3_options):
    store = open_store(f"s3://{s3_bucket}/reports", s3_options)
    store.write_folder("2026-05-01", {"report.html": b"old", "metrics.json": b"old"})
    before = store.folder_key("2026-05-01")
    failing_put(store, lambda key: key.endswith(FOLDER_MANIFEST))
    with pytest.raises(ConnectionResetError):
        store.write_folder("2026-05-01", {"report.html": b"new", "metrics.json": b"new"})
    reader = open_store(f"s3://{s3_bucket}/reports", s3_options)
    assert reader.folder_key("2026-05-01") == before
    assert {reader.read_bytes(f"{before}/{name}") for name in ("report.html", "metrics.json")} == {b"old"}
    # The new files were all uploaded, under a generation nothing points at.
    [orphan] = [name for name in reader.folders("2026-05-01") if not before.endswith(name)]
    assert reader.list_keys(f"2026-05-01/{orphan}") == ["metrics.json", "report.html"]


def test_a_write_deletes_the_generations_a_day_old_but_never_the_current_or_a_recent_one(s3_bucket, s3_options):
    store = open_store(f"s3://{s3_bucket}/reports", s3_options)
    old = "20260101T000000.000000Z-0badf00d"  # a rebuild's leftover from months ago
    store.write_bytes(f"2026-05-01/{old}/report.html", b"old")
    store.write_bytes("2026-05-01/notes/readme.txt", b"not a generation")
    store.write_folder("2026-05-01", {"report.html": b"first"})
    first = store.folder_key("2026-05-01")
    failing_put(store, lambda key: key.endswith(FOLDER_MANIFEST))
    with pytest.raises(ConnectionResetError):  # leaves a recent, unreferenced generation
        store.write_folder("2026-05-01", {"report.html": b"dead writer"})
    store = open_store(f"s3://{s3_bucket}/reports", s3_options)
    store.write_folder("2026-05-01", {"report.html": b"second"})
    generations = store.folders("2026-05-01")
    assert old not in generations and first.rsplit("/", 1)[1] in generations
    assert len(generations) == 4  # first, the dead writer's, second and notes/
    assert store.read_bytes(f"{store.folder_key('2026-05-01')}/report.html") == b"second"


def publish_then_die(url: str, options: S3Options) -> None:
    """Write a report folder and kill this process (SIGKILL: no clean-up runs) between the
    last file and the manifest."""

    def die(params, **_):
        if params["Key"].endswith(FOLDER_MANIFEST):
            os.kill(os.getpid(), signal.SIGKILL)

    store = open_store(url, options)
    store.client.meta.events.register("before-parameter-build.s3.PutObject", die)
    store.write_folder("2026-05-01", {"report.html": b"new", "metrics.json": b"new"})


def test_a_writer_killed_before_the_manifest_leaves_the_previous_report(s3_bucket, s3_options):
    url = f"s3://{s3_bucket}/reports"
    store = open_store(url, s3_options)
    store.write_folder("2026-05-01", {"report.html": b"old", "metrics.json": b"old"})
    writer = multiprocessing.get_context("spawn").Process(target=publish_then_die, args=(url, s3_options))
    writer.start()
    writer.join(60)
    assert writer.exitcode == -signal.SIGKILL
    current = store.folder_key("2026-05-01")
    assert {store.read_bytes(f"{current}/{name}") for name in ("report.html", "metrics.json")} == {b"old"}
    assert len(store.folders("2026-05-01")) == 2  # the dead writer's files are there, unreferenced


def test_concurrent_writers_of_one_folder_each_publish_whole_and_the_last_manifest_wins(s3_bucket, s3_options):
    url = f"s3://{s3_bucket}/reports"

    def write_many(label: str) -> None:
        store = open_store(url, s3_options)
        for _ in range(15):
            store.write_folder("2026-05-01", {name: label.encode() for name in ("a.md", "b.html", "c.png")})

    writers = [threading.Thread(target=write_many, args=(label,)) for label in ("first", "second")]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    store = open_store(url, s3_options)
    current = store.folder_key("2026-05-01")
    manifest = json.loads(store.read_bytes(f"2026-05-01/{FOLDER_MANIFEST}"))
    assert manifest["files"] == ["a.md", "b.html", "c.png"] and current.endswith(manifest["generation"])
    assert len({store.read_bytes(f"{current}/{name}") for name in manifest["files"]}) == 1


def test_a_missing_bucket_and_an_unreachable_endpoint_say_what_to_do(s3_credentials, s3_options):
    with pytest.raises(ObjectStoreError, match="bucket no-such-bucket does not exist; create it"):
        open_store("s3://no-such-bucket/data", s3_options).write_bytes("x", b"1")
    from usage_assets_tests.loopback_sshd import free_port

    closed = S3Options(endpoint_url=f"http://127.0.0.1:{free_port()}", region="us-east-1")
    with pytest.raises(ObjectStoreError, match="cannot reach http://127.0.0.1:.*USAGE_S3_ENDPOINT_URL"):
        open_store("s3://bucket/data", closed).read_bytes("x")
