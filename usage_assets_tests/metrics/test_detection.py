"""Cloud detection method of customer installs, by version and overall."""

import polars as pl

from usage_assets.metrics.detection import detection_breakdown, detection_by_version


def installs(rows: list[tuple[bool, str | None, str | None]]) -> pl.DataFrame:
    """(is_internal, latest version, latest detection method) per install."""
    return pl.DataFrame(
        rows,
        schema={"is_internal": pl.Boolean, "v": pl.String, "cloud_detection_method": pl.String},
        orient="row",
    )


FLEET = installs([
    (False, "1.31.0", "explicit"),
    (False, "1.31.0", "imds"),
    (False, "1.24.1", None),
    (False, None, "unknown"),
    (True, "1.31.0", "env"),
])


def test_every_method_is_a_column_and_counts_in_the_total():
    # Reference T26 adapted: "explicit" has its own column and is in the total; the
    # internal install (env) is left out; a null version reads "unknown" and sorts last.
    table = detection_by_version(FLEET)
    assert table.columns == [
        "version", "env", "dmi", "ecs_meta", "k8s_heuristic", "imds", "explicit",
        "operator_declared", "operator_declined", "unknown", "(field absent)", "total",
    ]
    assert table.select("version", "explicit", "imds", "unknown", "(field absent)", "env", "total").rows() == [
        ("1.31.0", 1, 1, 0, 0, 0, 2),
        ("1.24.1", 0, 0, 0, 1, 0, 1),
        ("unknown", 0, 0, 1, 0, 0, 1),
    ]
    assert table.schema["total"] == pl.Int64


def test_versions_beyond_the_top_twelve_fold_into_one_row():
    # 1.20.0 has 3 installs; 1.1.0 .. 1.13.0 one each. Top 12 = 1.20.0 plus the 11 newest
    # one-install versions (1.13.0 down to 1.3.0); 1.2.0 and 1.1.0 fold into "other".
    rows = [(False, "1.20.0", "imds")] * 3 + [(False, f"1.{n}.0", "env") for n in range(1, 14)]
    table = detection_by_version(installs(rows))
    assert table["version"].to_list() == [
        "1.20.0", *[f"1.{n}.0" for n in range(13, 2, -1)], "other (2 versions)",
    ]
    assert table.row(-1, named=True)["env"] == 2 and table.row(-1, named=True)["total"] == 2
    # 3 + 13 = 16 customers, every one counted once.
    assert table["total"].sum() == 16


def test_other_row_is_absent_when_twelve_versions_or_fewer():
    assert "other" not in " ".join(detection_by_version(FLEET)["version"])
    assert detection_by_version(installs([])).height == 0


def test_breakdown_over_customers_sorted_by_count_then_method():
    fleet = pl.concat([FLEET, installs([(False, "1.31.0", "imds")])])
    # 5 customers: imds 2 (40.0 %), then one each in name order (20.0 %).
    assert detection_breakdown(fleet) == [
        {"method": "imds", "instances": 2, "percentage": 40.0},
        {"method": "(field absent)", "instances": 1, "percentage": 20.0},
        {"method": "explicit", "instances": 1, "percentage": 20.0},
        {"method": "unknown", "instances": 1, "percentage": 20.0},
    ]
    assert detection_breakdown(installs([])) == []


def test_a_v_prefixed_version_counts_with_its_release():
    table = detection_by_version(installs([(False, "v1.31.0", "imds"), (False, "1.31.0", "explicit"), (False, "vdev", None)]))
    assert table.select("version", "imds", "explicit", "total").rows() == [("1.31.0", 1, 1, 2), ("vdev", 0, 0, 1)]


def test_a_method_a_newer_registry_sends_is_a_column_of_its_own():
    table = detection_by_version(installs([(False, "1.40.0", "oci_meta"), (False, "1.40.0", "imds")]))
    assert table.columns[-4:] == ["unknown", "oci_meta", "(field absent)", "total"]
    assert table.select("oci_meta", "imds", "total").rows() == [(1, 1, 2)]
