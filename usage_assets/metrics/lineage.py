"""Install lineage: which install continues which, when a deployment is recreated.

A ``registry_id`` lives as long as the registry's state. A container recreated without a
persistent volume reports a new id each time, so one deployment shows up as a run of
installs, most of them one-day wonders. This module links "install B continues install
A" from the evidence such a recreation keeps (docs/deployments.md):

* B's first event follows A's last event, within ``gap_hours`` (default 48 h);
* both report the same, non-empty ``source_ip_hash``;
* both report the same :data:`EVIDENCE_FIELDS` (cloud, compute, storage, auth, mode,
  registry_mode; latest non-empty values, an empty value only matches an empty one);
* B's first version is A's last version or newer (:func:`semver_key`).

Every pair that passes is a *candidate*. A candidate A -> C that is implied by a path
A -> B -> ... -> C of candidates (C continued B, which continued A) is dropped: the
deployment went through B. What remains is linked only when it is unambiguous: A has no
other candidate successor and C no other candidate predecessor; otherwise every candidate
of that install is kept with status ``ambiguous`` and counted, never linked. Crowds are
bounded (:data:`MAX_GROUP_INSTALLS`, :data:`MAX_CANDIDATES`) so that one address shared
by thousands of installs costs neither memory nor time.

Input is the ``instances`` table of day D (one row per install, cumulative), so the
lineage of D depends on D's data alone: a backfill gives the same links as a daily run.
No Dagster here.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

import polars as pl

from usage_assets.common.versions import normalized_version
from usage_assets.metrics.versions import semver_key

#: Deployment-shape fields a recreated container keeps; every one must match.
EVIDENCE_FIELDS: tuple[str, ...] = ("cloud", "compute", "storage", "auth", "mode", "registry_mode")
#: Longest time from A's last event to B's first event for B to continue A, in hours.
DEFAULT_GAP_HOURS = 48.0
#: An ip hash and shape shared by more installs than this is a proxy, or a collector that
#: hashes its own load balancer, not a deployment: those installs are never linked (their
#: candidate pairs would grow with the square of the crowd).
MAX_GROUP_INSTALLS = 1000
#: An install with more candidate predecessors or successors than this is ambiguous
#: without the path reduction, whose cost grows with the square of the candidates.
MAX_CANDIDATES = 20

LINKED, AMBIGUOUS = "linked", "ambiguous"

#: ``install_lineage``: one row per candidate link that survived the path reduction.
LINEAGE_SCHEMA = pl.Schema(
    {
        "predecessor": pl.String,
        "successor": pl.String,
        "status": pl.String,  # linked | ambiguous
        "predecessor_last_ts": pl.Datetime("ms", "UTC"),
        "successor_first_ts": pl.Datetime("ms", "UTC"),
        "gap_hours": pl.Float64,
        "source_ip_hash": pl.String,
        "predecessor_version": pl.String,
        "successor_version": pl.String,
        "version_step": pl.String,  # same | newer
        "fields_reported": pl.Int64,  # evidence fields both reported (non-empty) and equal
        "confidence": pl.Float64,
    }
)


@dataclass(frozen=True)
class LineageRule:
    """The stitching's parameter: ``gap_hours`` > 0, the longest silence between two
    incarnations of one deployment (a longer outage starts a new deployment)."""

    gap_hours: float = DEFAULT_GAP_HOURS

    def __post_init__(self) -> None:
        if not self.gap_hours > 0:
            raise ValueError(f"gap_hours must be positive, got {self.gap_hours}")


def confidence(fields_reported: pl.Expr, gap_hours: pl.Expr, rule: LineageRule) -> pl.Expr:
    """A link's confidence in [0, 1]: half from the evidence fields both installs
    reported (rather than both left empty), half from how short the gap was
    (1 for back-to-back, 0.5 at the limit). The rule's matches are required either way;
    this ranks the links for a reader, it decides nothing."""
    evidence = fields_reported / len(EVIDENCE_FIELDS)
    speed = 1 - 0.5 * gap_hours / rule.gap_hours
    return (0.5 * evidence + 0.5 * speed).round(3)


def _ends(instances: pl.DataFrame) -> pl.DataFrame:
    """Per install with an ip hash: its id, evidence, first/last ts, first and last version,
    and ``_group``: one integer per (ip hash, evidence fields) value, empty matching empty.
    Groups larger than :data:`MAX_GROUP_INSTALLS` are left out."""
    keys = ["source_ip_hash", *EVIDENCE_FIELDS]
    ends = instances.filter(pl.col("source_ip_hash").is_not_null()).select(
        "registry_id",
        *keys,
        "first_ts",
        "last_ts",
        normalized_version("v").alias("last_version"),
        pl.col("version_trajectory").list.first().alias("first_version"),
    )
    groups = ends.select(keys).unique().sort(keys, nulls_last=False).with_row_index("_group")
    return (
        ends.join(groups, on=keys, how="left", nulls_equal=True)
        .filter(pl.len().over("_group") <= MAX_GROUP_INSTALLS)
        .sort("registry_id")
    )


def candidate_links(instances: pl.DataFrame, rule: LineageRule = LineageRule()) -> pl.DataFrame:
    """Every pair (A, B) that passes the rule, before the path reduction and the
    ambiguity test: columns of :data:`LINEAGE_SCHEMA` except ``status``.

    ``instances``: the install table (``registry_id``, ``source_ip_hash``,
    :data:`EVIDENCE_FIELDS`, ``first_ts``, ``last_ts``, ``v``, ``version_trajectory``).
    Installs without an ip hash, or in a group of more than :data:`MAX_GROUP_INSTALLS`
    installs with one ip hash and one shape, never link.
    """
    gap = timedelta(milliseconds=round(rule.gap_hours * 3_600_000))
    ends = _ends(instances).with_columns((pl.col("last_ts") + gap).alias("_until"))
    right = ends.rename({name: f"{name}_b" for name in ends.columns})
    # An inequality join: the pairs are found per group and time window, never as the
    # product of a group with itself.
    pairs = (
        ends.lazy()
        .join_where(
            right.lazy(),
            pl.col("_group") == pl.col("_group_b"),
            pl.col("first_ts_b") > pl.col("last_ts"),
            pl.col("first_ts_b") <= pl.col("_until"),
        )
        .with_columns(gap_hours=(pl.col("first_ts_b") - pl.col("last_ts")).dt.total_milliseconds() / 3_600_000)
        .collect()
    )
    newer = [
        semver_key(b) >= semver_key(a) for a, b in zip(pairs["last_version"], pairs["first_version_b"], strict=True)
    ]
    same = [normalized_equal(a, b) for a, b in zip(pairs["last_version"], pairs["first_version_b"], strict=True)]
    reported = pl.sum_horizontal(pl.col(name).is_not_null().cast(pl.Int64) for name in EVIDENCE_FIELDS)
    return (
        pairs.with_columns(pl.Series("_newer", newer, dtype=pl.Boolean), pl.Series("_same", same, dtype=pl.Boolean))
        .filter(pl.col("_newer"))
        .select(
            pl.col("registry_id").alias("predecessor"),
            pl.col("registry_id_b").alias("successor"),
            pl.col("last_ts").alias("predecessor_last_ts"),
            pl.col("first_ts_b").alias("successor_first_ts"),
            pl.col("gap_hours").round(3),
            "source_ip_hash",
            pl.col("last_version").alias("predecessor_version"),
            pl.col("first_version_b").alias("successor_version"),
            pl.when(pl.col("_same")).then(pl.lit("same")).otherwise(pl.lit("newer")).alias("version_step"),
            reported.alias("fields_reported"),
        )
        .with_columns(confidence(pl.col("fields_reported"), pl.col("gap_hours"), rule).alias("confidence"))
        .sort("predecessor", "successor")
    )


def normalized_equal(a: str | None, b: str | None) -> bool:
    """Same version whatever its spelling (``v1.35.0`` and ``V1.35.0`` are ``1.35.0``, as
    :func:`usage_assets.common.versions.normalized_version` has it)."""

    def bare(version: str | None) -> str:
        return re.sub(r"^[vV](?=\d)", "", version or "")

    return bare(a) == bare(b)


def _implied(edges: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Edges A -> C for which another path A -> B -> ... -> C exists. Edges go forward in
    time (B starts after A ends), so the graph has no cycle."""
    successors: defaultdict[str, list[str]] = defaultdict(list)
    for a, c in edges:
        successors[a].append(c)

    def reachable_avoiding(start: str, direct: str) -> bool:
        stack = [b for b in successors[start] if b != direct]
        seen = set(stack)
        while stack:
            node = stack.pop()
            if node == direct:
                return True
            for nxt in successors[node]:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return False

    return {(a, c) for a, c in edges if reachable_avoiding(a, c)}


def install_lineage(instances: pl.DataFrame, rule: LineageRule = LineageRule()) -> pl.DataFrame:
    """The lineage as of the instances' day: :func:`candidate_links` without the implied
    ones, each with ``status`` ``linked`` (the only candidate successor of A and the only
    candidate predecessor of B) or ``ambiguous``. Sorted by (predecessor, successor);
    the schema is :data:`LINEAGE_SCHEMA`."""
    candidates = candidate_links(instances, rule)
    crowded = (pl.len().over("predecessor") > MAX_CANDIDATES) | (pl.len().over("successor") > MAX_CANDIDATES)
    candidates = candidates.with_columns(crowded.alias("_crowded"))
    sparse = candidates.filter(~pl.col("_crowded")).select("predecessor", "successor")
    implied = pl.DataFrame(
        sorted(_implied(list(sparse.iter_rows()))),
        schema={"predecessor": pl.String, "successor": pl.String},
        orient="row",
    )
    kept = candidates.join(implied, on=["predecessor", "successor"], how="anti", maintain_order="left")
    alone = (pl.len().over("predecessor") == 1) & (pl.len().over("successor") == 1) & ~pl.col("_crowded")
    status = pl.when(alone).then(pl.lit(LINKED)).otherwise(pl.lit(AMBIGUOUS))
    return kept.with_columns(status.alias("status")).select(list(LINEAGE_SCHEMA)).cast(LINEAGE_SCHEMA)


def lineage_counts(lineage: pl.DataFrame) -> dict[str, int]:
    """``links`` (linked), ``ambiguous_links`` and ``ambiguous_installs`` (installs at
    either end of an ambiguous candidate) of an ``install_lineage`` frame."""
    ambiguous = lineage.filter(pl.col("status") == AMBIGUOUS)
    ends = pl.concat([ambiguous["predecessor"], ambiguous["successor"]]).n_unique() if ambiguous.height else 0
    return {
        "links": lineage.height - ambiguous.height,
        "ambiguous_links": ambiguous.height,
        "ambiguous_installs": ends,
    }
