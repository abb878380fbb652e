"""The field quarantine evaluates every rule in one pass (issue 11); its result must equal
the rule-by-rule definition: for each rule, the events breaking it counted per value, and
every auth-path share cell checked by :func:`check_auth_share`.

Rows are generated with every kind of broken field: values outside the known lists, too
long, not integers, negative or implausibly large, not booleans, a malformed ``py``,
inconsistent cloud / detection-method pairs, a missing ``v``, and share cells of every
shape (compact, spaced, decimal, unknown or repeated paths, out of range, not JSON).
"""

import json

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from usage_assets.ingest.validation import (
    ALLOWED_VALUES,
    CLEARED,
    MAX_LENGTHS,
    QUARANTINE_SCHEMA,
    QUARANTINED_VALUE_CHARS,
    check_auth_share,
    compact_auth_share,
    field_rules,
    quarantine_fields,
)
from usage_assets.sources import export_format as fmt

SHARE = "auth_path_share_24h"


def shown(value: str | None) -> str | None:
    """A quarantined value as stored (the documented cut), computed independently."""
    if value is not None and len(value) > QUARANTINED_VALUE_CHARS:
        return value[: QUARANTINED_VALUE_CHARS - 1] + "…"
    return value


def rule_by_rule(rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The quarantine by its definition: each rule evaluated on its own, each share cell
    checked in Python."""
    counts: dict[tuple, int] = {}
    cleaned = {name: rows[name].to_list() for name in rows.columns}
    for rule in field_rules():
        broken = rows.select(rule.violated).to_series().to_list()
        for index, hit in enumerate(broken):
            if hit:
                key = (rule.column, rule.rule, rule.action, shown(rows[rule.column][index]))
                counts[key] = counts.get(key, 0) + 1
                if rule.action == CLEARED:
                    cleaned[rule.column][index] = None
    for index, cell in enumerate(rows[SHARE].to_list()):
        if cell is None or len(cell) > MAX_LENGTHS[SHARE]:
            cleaned[SHARE][index] = None
            continue
        checked = check_auth_share(cell)
        cleaned[SHARE][index] = checked.share
        if checked.problem:
            key = (SHARE, checked.problem, CLEARED, shown(cell))
            counts[key] = counts.get(key, 0) + 1
        for path in checked.dropped:
            key = (SHARE, "not a known auth path", "dropped", shown(path))
            counts[key] = counts.get(key, 0) + 1
    quarantine = pl.DataFrame(
        [(*key, events) for key, events in counts.items()], schema=QUARANTINE_SCHEMA, orient="row"
    ).sort("column", "rule", "action", "value", nulls_last=False)
    return pl.DataFrame(cleaned, schema=rows.schema), quarantine


def share_cells() -> st.SearchStrategy[str]:
    known = st.sampled_from(fmt.AUTH_PATHS)
    path = st.one_of(known, st.sampled_from(["mtls", "Keycloak", "", 'a"b', "jwt "]))
    share = st.one_of(
        st.integers(-5, 105), st.floats(-1, 101), st.just(float("nan")), st.booleans(), st.none(), st.just("50")
    )
    objects = st.lists(st.tuples(path, share), max_size=5).map(
        lambda items: "{" + ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in items) + "}"
    )
    compact = st.lists(st.tuples(known, st.integers(0, 100)), min_size=1, max_size=4).map(
        lambda items: "{" + ",".join(f'"{k}":{v}' for k, v in items) + "}"  # paths may repeat
    )
    spaced = compact.map(lambda cell: cell.replace(",", ", ").replace(":", ": "))
    return st.one_of(
        compact,
        spaced,
        objects,
        st.sampled_from(["[]", "null", "keycloak=50", "{", '{"jwt":007}', '{"jwt":1e2}', '{"jwt":-0}', "x" * 1001]),
    )


def sample_values(name: str) -> list[str]:
    """Values of one column, valid and broken, for every field rule of that column."""
    if name in fmt.INT_COLUMNS:
        return ["0", "7", "48", "1000", "200001", "-1", "12.5", "9223372036854775807", "99999999999999999999", "x"]
    if name in fmt.BOOL_COLUMNS:
        return ["True", "false", "TRUE", "yes", "1"]
    if name == "py":
        return ["3.12", "3", "three", "3.12.1"]
    if name == "cloud":
        return [*fmt.CLOUDS, "moon"]
    if name == "cloud_detection_method":
        return [*fmt.CLOUD_DETECTION_METHODS, "guess"]
    if name in ("os", "compute", "storage", "mode"):
        return ["linux", "ecs", "mongodb", "with-gateway", "plan9", "nomad"]
    return ["v1.31.0", "x86_64", "keycloak", *(f"#{value}" for value in ALLOWED_VALUES.get(name, ()))]


def column_values(name: str) -> st.SearchStrategy[str | None]:
    long = st.integers(60, 1100).map(lambda n: "z" * n)
    return st.one_of(st.none(), st.sampled_from(sample_values(name)), long)


COLUMNS = [name for name in fmt.EXPORT_COLUMNS if name not in ("event", "registry_id", "ts", "stored_at")]


@st.composite
def rows(draw) -> pl.DataFrame:
    count = draw(st.integers(0, 12))
    data = {
        name: [draw(share_cells() if name == SHARE else column_values(name)) for _ in range(count)] for name in COLUMNS
    }
    data.update(
        event=["heartbeat"] * count,
        registry_id=[None] * count,
        ts=["2026-05-20T00:00:00Z"] * count,
        stored_at=[None] * count,
    )
    return pl.DataFrame(data, schema=fmt.EXPORT_SCHEMA)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=rows())
def test_one_pass_quarantine_equals_the_rule_by_rule_result(frame):
    cleaned, quarantine = quarantine_fields(frame)
    expected_cleaned, expected_quarantine = rule_by_rule(frame)
    assert quarantine.to_dicts() == expected_quarantine.to_dicts()
    assert cleaned.to_dicts() == expected_cleaned.to_dicts()


def test_the_sample_values_break_every_rule():
    """The property above covers every rule: the values it draws from break each one."""
    count = 400
    data = {
        name: [
            None if n % 11 == 0 else ("z" * 1001 if n % 13 == 0 else sample_values(name)[n % len(sample_values(name))])
            for n in range(count)
        ]
        for name in COLUMNS
    }
    frame = pl.DataFrame({**data, "event": ["heartbeat"] * count}).with_columns(
        pl.lit(None, dtype=pl.String).alias(name) for name in ("registry_id", "ts", "stored_at")
    )
    broken = {(rule.column, rule.rule) for rule in field_rules() if frame.select(rule.violated.any()).item()}
    assert broken == {(rule.column, rule.rule) for rule in field_rules()}


@settings(max_examples=300, deadline=None)
@given(cell=share_cells())
def test_a_compact_share_is_what_the_check_makes_of_it(cell):
    if pl.select(compact_auth_share(pl.lit(cell))).item():
        assert check_auth_share(cell) == check_auth_share(cell).__class__(cell, None, ())


def test_compact_shares_are_recognised():
    cells = [
        '{"keycloak":62,"jwt":38}',
        '{"okta":100}',
        '{"federation-static":0}',
        '{"jwt":5,"jwt":7}',
        '{"jwt": 5}',
        '{"jwt":5.0}',
        '{"mtls":5}',
        '{"jwt":101}',
        '{"jwt":07}',
        "{}",
        None,
    ]
    flags = pl.select(compact_auth_share(pl.Series(cells, dtype=pl.String))).to_series().to_list()
    assert flags == [True, True, True, False, False, False, False, False, False, False, None]
