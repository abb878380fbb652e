"""Hypothetical infra spend of AWS customer installs, and the daily AWS reporters.

What it would cost, at list price, to run the AWS customer fleet as it reported itself:
each AWS customer **install-day** (an ``instance_days`` row of a customer whose ``cloud``
that day is ``aws``) is billed one day of its platform's rate, and Bedrock-backed installs
add the search queries they served (reference 6.7, ``ltv-spend-D.csv``/``.json``). The same
install-days give the daily AWS reporters (reference 6.8).

Rates are configuration, not code: :class:`CostModel`, read from ``cost_model.json`` with
:func:`load_cost_model`; every rate carries the lines that ground it.

Three counting rules (reference names in brackets, used as column suffixes):

- all_days (``""``): every AWS customer install-day;
- proven (``"_persistent"``): every install-day except the install's first AWS install-day;
- persisted (``"_persisted"``): every install-day of installs with at least two AWS
  install-days. all_days >= persisted >= proven; all_days - persisted = single-day
  installs; persisted - proven = persisted installs.

Where this differs from the reference, and why:

- The AWS test is on the day's latest non-empty ``cloud`` (the daily layer keeps one value
  per day); the reference tests each event row, so an install that reported two clouds on
  one day may count there and not here.
- A Bedrock install's **first** counter observation is charged its own day's
  ``search_queries_24h`` (capped by the counter), not the whole lifetime counter, which
  would bill months of queries to one day (quirk 17).
- Platform and Bedrock backend are the install's latest non-empty values as of the end of
  D; the report day is complete, so no partial day leaks in (quirk 17).
- The default rates for ecs (19.03) and kubernetes (11.17) are the issue's seed figures;
  the reference now uses 26.04 and 18.58. Per-platform USD prices each install at its own
  platform's rate, so "other" adds up ec2/vm/unknown/... at theirs (the reference prices
  all of "other" at the fallback rate; equal with the default model).
- Daily reporters are zero-filled over every day from the first AWS install-day to D (the
  reference lists only days with data).
- Customers follow the one rule of :mod:`usage_assets.daily.internal`.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from usage_assets.common.days import day_range

#: The default cost model, at the repository root.
DEFAULT_COST_MODEL = Path(__file__).resolve().parents[2] / "cost_model.json"

#: Counting rule -> the reference's column suffix.
RULES: dict[str, str] = {"all_days": "", "proven": "_persistent", "persisted": "_persisted"}
#: Reporting platforms -> their per-day column (without the rule suffix).
PLATFORM_COLUMNS: dict[str, str] = {
    "docker": "docker_instances",
    "ecs": "ecs_instances",
    "kubernetes": "kubernetes_instances",
    "other": "other_platform_instances",
}
COUNTING_RULES: dict[str, str] = {
    "all_days": "Every UTC day on which an AWS customer install reported is billed as one instance-day.",
    "proven": "As all_days, except that an install's first AWS day is not billed: it has to come back to count.",
    "persisted": "Every AWS day of installs that reported on at least two UTC days; single-day installs are not billed.",
}
UNKNOWN = "unknown"
OTHER = "other"
#: Platforms reported under their own name; every other compute value is "other".
NAMED_PLATFORMS = ("docker", "ecs", "kubernetes")
LAST_DAYS = 7

BY_DAY_COLUMNS: list[str] = [
    "date",
    *[f"aws_instances{suffix}" for suffix in RULES.values()],
    *[f"{column}{suffix}" for column in PLATFORM_COLUMNS.values() for suffix in RULES.values()],
    *[f"bedrock_queries{suffix}" for suffix in RULES.values()],
    *[f"{money}{suffix}" for money in ("compute_usd", "bedrock_usd", "total_usd", "cum_total_usd") for suffix in RULES.values()],
]
BY_DAY_SCHEMA: dict[str, pl.DataType] = {
    name: pl.Date() if name == "date" else pl.Float64() if "_usd" in name else pl.Int64() for name in BY_DAY_COLUMNS
}
REPORTERS_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "all_reporters": pl.Int64(),
    "persisted_2events": pl.Int64(),
    "persisted_2days": pl.Int64(),
}


class CostModelError(ValueError):
    """The cost model file is not valid JSON or breaks a rule; the message names file and field."""


class PlatformRate(BaseModel):
    """Daily USD rate of one platform and the lines that justify it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    usd_per_day: float = Field(ge=0, allow_inf_nan=False)
    grounding: list[str] = Field(min_length=1)


class BedrockPricing(BaseModel):
    """Price of one search query on a Bedrock embeddings backend."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tokens_per_query: float = Field(ge=0, allow_inf_nan=False)
    usd_per_1k_tokens: float = Field(ge=0, allow_inf_nan=False)
    grounding: list[str] = Field(min_length=1)

    @property
    def usd_per_query(self) -> float:
        """USD per search query: tokens_per_query * usd_per_1k_tokens / 1000."""
        return self.tokens_per_query * self.usd_per_1k_tokens / 1000


class CostModel(BaseModel):
    """The hypothetical price list (``cost_model.json``).

    ``platforms``: rate per lowercased compute value (``docker``, ``ec2``, ``ecs``, …);
    ``other_platforms``: the rate of any compute value not listed; ``bedrock``: query
    pricing. Amounts are USD (the only currency the outputs are labelled in).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str = Field(min_length=1)
    currency: Literal["USD"]
    platforms: dict[str, PlatformRate]
    other_platforms: PlatformRate
    bedrock: BedrockPricing

    @field_validator("platforms")
    @classmethod
    def _lowercase_names(cls, platforms: dict[str, PlatformRate]) -> dict[str, PlatformRate]:
        names = [name.strip().lower() for name in platforms]
        if len(set(names)) != len(names):
            raise ValueError("platform names must differ ignoring case")
        return dict(zip(names, platforms.values()))

    def rate(self, platform: str) -> float:
        """USD per day of one install on ``platform`` (any case; unlisted -> other_platforms)."""
        return self.platforms.get(platform.strip().lower(), self.other_platforms).usd_per_day


def load_cost_model(path: Path | str = DEFAULT_COST_MODEL) -> CostModel:
    """Read and validate a cost model file.

    Raises ``FileNotFoundError`` naming the path when there is no such file, and
    :class:`CostModelError` naming the file and every invalid field (dotted path such as
    ``platforms.ecs.usd_per_day``) when the JSON is malformed or breaks a rule.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"cost model not found: {path}")
    try:
        return CostModel.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as error:
        problems = [
            (".".join(str(part) for part in problem["loc"]) + ": " if problem["loc"] else "")
            + problem["msg"].removeprefix("Value error, ")
            for problem in error.errors()
        ]
        raise CostModelError(f"invalid cost model {path}:\n" + "\n".join(f"  {line}" for line in problems)) from None


def _aws_customer_days(history: pl.LazyFrame, instances: pl.DataFrame, day: date) -> pl.DataFrame:
    """One row per AWS customer install-day up to ``day``, with the install's facts.

    Columns: ``date``, ``registry_id``, ``events``, ``max_search_queries_total``,
    ``max_search_queries_24h`` (of that day); ``platform`` (latest compute, lowercased,
    null -> unknown), ``reporting_platform`` (docker/ecs/kubernetes/other), ``bedrock``
    (latest embeddings backend kind is bedrock); ``first_aws_day`` (this is the install's
    first AWS install-day), ``aws_days`` (its number of AWS install-days). Sorted by
    (registry_id, date).
    """
    platform = pl.col("compute").str.strip_chars().str.to_lowercase().fill_null(UNKNOWN)
    customers = instances.filter(~pl.col("is_internal")).select(
        "registry_id",
        platform.alias("platform"),
        pl.when(platform.is_in(NAMED_PLATFORMS)).then(platform).otherwise(pl.lit(OTHER)).alias("reporting_platform"),
        (pl.col("embeddings_backend_kind") == "bedrock").fill_null(False).alias("bedrock"),
    )
    return (
        history.filter(pl.col("registry_id").is_not_null(), pl.col("date") <= day, pl.col("cloud") == "aws")
        .select("date", "registry_id", "events", "max_search_queries_total", "max_search_queries_24h")
        .collect()
        .join(customers, on="registry_id", how="inner")
        .sort("registry_id", "date")
        .with_columns(
            (pl.col("date") == pl.col("date").min().over("registry_id")).alias("first_aws_day"),
            pl.len().over("registry_id").cast(pl.Int64).alias("aws_days"),
        )
    )


def _with_bedrock_queries(days: pl.DataFrame) -> pl.DataFrame:
    """``days`` plus ``bedrock_queries`` (Int64): queries charged to each install-day, 0 if none.

    Only Bedrock install-days with a positive ``max_search_queries_total`` are observations.
    Each observation is charged its growth over the previous one; a decrease is a counter
    reset and is charged nothing, the next growth counting from the new value. The first
    observation has no previous value, so it is charged its own day's 24-hour count
    instead of the lifetime counter.
    """
    counter = pl.col("max_search_queries_total")
    first_observation = pl.int_range(pl.len()).over("registry_id") == 0
    charged = (
        days.filter(pl.col("bedrock"), counter > 0)
        .sort("registry_id", "date")
        .select(
            "registry_id",
            "date",
            pl.when(first_observation)
            .then(pl.min_horizontal(pl.col("max_search_queries_24h").fill_null(0), counter))
            .otherwise((counter - counter.shift(1).over("registry_id")).clip(lower_bound=0))
            .alias("bedrock_queries"),
        )
    )
    return days.join(charged, on=["registry_id", "date"], how="left").with_columns(
        pl.col("bedrock_queries").fill_null(0).cast(pl.Int64)
    )


def priced_install_days(
    history: pl.LazyFrame, instances: pl.DataFrame, model: CostModel, day: date
) -> pl.DataFrame:
    """Every AWS customer install-day up to ``day``, priced: the input of
    :func:`spend_by_day` and :func:`spend_summary`, computed once for both.

    ``history``: lazy ``instance_days`` (reads ``date``, ``registry_id``, ``cloud``,
    ``events``, ``max_search_queries_total``, ``max_search_queries_24h``); ``instances``:
    the install table as of ``day`` (reads ``registry_id``, ``is_internal``, ``compute``,
    ``embeddings_backend_kind``). One row per (registry_id, date): the
    columns of :func:`_aws_customer_days` plus ``bedrock_queries`` (Int64),
    ``usd_per_day`` (Float64, the install's platform rate, the same on every day) and one
    Boolean column per counting rule (``all_days``, ``proven``, ``persisted``: whether
    the rule bills this install-day). Empty when there is no AWS customer install-day.
    """
    days = _with_bedrock_queries(_aws_customer_days(history, instances, day))
    platforms = days["platform"].unique().sort()
    rates = pl.DataFrame(
        {"platform": platforms, "usd_per_day": [model.rate(name) for name in platforms]},
        schema={"platform": pl.String, "usd_per_day": pl.Float64},
    )
    return days.join(rates, on="platform", how="left").with_columns(
        pl.lit(True).alias("all_days"),
        (~pl.col("first_aws_day")).alias("proven"),
        (pl.col("aws_days") >= 2).alias("persisted"),
    )


def spend_by_day(days: pl.DataFrame, model: CostModel, day: date) -> pl.DataFrame:
    """Daily instance counts and hypothetical USD under the three counting rules.

    ``days``: :func:`priced_install_days` up to ``day``. One row per UTC day from the
    first AWS customer install-day to ``day``, zero-filled; an empty frame with the
    columns when there is none.

    Columns (:data:`BY_DAY_COLUMNS`; suffix ``""`` all_days, ``_persistent`` proven,
    ``_persisted`` persisted): ``date``; Int64 ``aws_instances*``, ``docker_instances*``,
    ``ecs_instances*``, ``kubernetes_instances*``, ``other_platform_instances*``,
    ``bedrock_queries*``; Float64 USD/day ``compute_usd*`` (4 dp), ``bedrock_usd*`` (6 dp),
    ``total_usd*`` (4 dp) and the running sum ``cum_total_usd*`` (4 dp, of unrounded totals).
    """
    if days.is_empty():
        return pl.DataFrame(schema=BY_DAY_SCHEMA)
    aggregations = []
    for rule, suffix in RULES.items():
        billed = pl.col(rule)
        aggregations += [
            billed.sum().alias(f"aws_instances{suffix}"),
            *[
                (billed & (pl.col("reporting_platform") == platform)).sum().alias(f"{column}{suffix}")
                for platform, column in PLATFORM_COLUMNS.items()
            ],
            pl.col("bedrock_queries").filter(billed).sum().alias(f"bedrock_queries{suffix}"),
            pl.col("usd_per_day").filter(billed).sum().alias(f"compute_usd{suffix}"),
        ]
    grid = pl.DataFrame({"date": day_range(days["date"].min(), day)}, schema={"date": pl.Date})
    frame = grid.join(days.group_by("date").agg(aggregations), on="date", how="left").fill_null(0).sort("date")
    usd_per_query = model.bedrock.usd_per_query
    for suffix in RULES.values():
        bedrock_usd = pl.col(f"bedrock_queries{suffix}") * usd_per_query
        total = pl.col(f"compute_usd{suffix}") + bedrock_usd
        frame = frame.with_columns(
            bedrock_usd.round(6).alias(f"bedrock_usd{suffix}"),
            total.round(4).alias(f"total_usd{suffix}"),
            total.cum_sum().round(4).alias(f"cum_total_usd{suffix}"),
            pl.col(f"compute_usd{suffix}").round(4),
        )
    return frame.select(BY_DAY_COLUMNS).cast(BY_DAY_SCHEMA)


def last_days(by_day: pl.DataFrame, day: date) -> pl.DataFrame:
    """The rows of :func:`spend_by_day` for the last :data:`LAST_DAYS` days ending ``day``
    (fewer when the spend series starts later)."""
    return by_day.filter(pl.col("date").is_between(day - timedelta(days=LAST_DAYS - 1), day))


def annualized_musd(total_usd: float, days: int) -> float:
    """ARR projection in millions of USD (6 dp, whole dollars): the daily average of ``days`` days that
    cost ``total_usd`` in all, times 365 (reference 6.7). The reference always divides by
    7; a series shorter than a week divides by its own length. 0.0 without days."""
    return round(total_usd / days * 365 / 1e6, 6) if days else 0.0


def spend_summary(by_day: pl.DataFrame, days: pl.DataFrame, model: CostModel, day: date) -> dict:
    """The ``ltv-spend-D.json`` payload (reference 6.7 keys) for report day ``day``.

    ``days``: :func:`priced_install_days` up to ``day``; ``by_day``: :func:`spend_by_day`
    of them. Keys: ``cost_model`` (the model,
    with ``bedrock.usd_per_query``), ``counting_rule`` (one sentence per rule),
    ``yesterday`` (``date`` = ``day``, and per rule the install-days by platform,
    ``instances``, ``bedrock_queries``, ``compute_usd``, ``bedrock_usd``, ``total_usd`` of
    that day), ``per_platform_unique_instance_totals`` (AWS customer installs by platform),
    ``per_platform_ltv_breakdown_{all_days,proven,persisted}`` (``instance_days`` and
    ``compute_usd`` (2 dp) by platform), ``last_7_days`` (total USD of D-6..D per rule,
    2 dp, and ``days``: how many of those days have spend rows), ``arr`` (the daily
    average of those days * 365 in millions of USD, 6 dp; see :func:`annualized_musd`),
    ``ltv`` (per rule:
    ``compute_usd`` and ``bedrock_usd`` sums (2 dp), ``total_usd`` (4 dp, the last
    cumulative), ``total_instance_days``), ``first_day``/``last_day`` (ISO dates of
    ``by_day``, or None). Without any AWS customer install-day every number is 0 and the
    days are None; nothing raises.
    """
    cost_model = model.model_dump(mode="json")
    cost_model["bedrock"]["usd_per_query"] = model.bedrock.usd_per_query
    on_day = by_day.filter(pl.col("date") == day)
    last_week = last_days(by_day, day)
    week_totals = {rule: float(last_week[f"total_usd{suffix}"].sum()) for rule, suffix in RULES.items()}

    def on_day_value(column: str) -> float:
        return on_day[column][0] if on_day.height else 0

    def platform_breakdown(rule: str) -> dict[str, dict]:
        billed = days.filter(pl.col(rule))
        return {
            platform: {
                "instance_days": int((billed["reporting_platform"] == platform).sum()),
                "compute_usd": round(float(billed.filter(pl.col("reporting_platform") == platform)["usd_per_day"].sum()), 2),
            }
            for platform in PLATFORM_COLUMNS
        }

    return {
        "cost_model": cost_model,
        "counting_rule": dict(COUNTING_RULES),
        "yesterday": {
            "date": day.isoformat(),
            **{
                rule: {
                    **{platform: int(on_day_value(f"{column}{suffix}")) for platform, column in PLATFORM_COLUMNS.items()},
                    "instances": int(on_day_value(f"aws_instances{suffix}")),
                    "bedrock_queries": int(on_day_value(f"bedrock_queries{suffix}")),
                    "compute_usd": float(on_day_value(f"compute_usd{suffix}")),
                    "bedrock_usd": float(on_day_value(f"bedrock_usd{suffix}")),
                    "total_usd": float(on_day_value(f"total_usd{suffix}")),
                }
                for rule, suffix in RULES.items()
            },
        },
        "per_platform_unique_instance_totals": {
            platform: days.filter(pl.col("reporting_platform") == platform)["registry_id"].n_unique()
            for platform in PLATFORM_COLUMNS
        },
        **{f"per_platform_ltv_breakdown_{rule}": platform_breakdown(rule) for rule in RULES},
        "last_7_days": {
            **{f"{rule}_total_usd": round(total, 2) for rule, total in week_totals.items()},
            "days": last_week.height,
        },
        "arr": {f"{rule}_musd": annualized_musd(total, last_week.height) for rule, total in week_totals.items()},
        "ltv": {
            rule: {
                "compute_usd": round(float(by_day[f"compute_usd{suffix}"].sum()), 2),
                "bedrock_usd": round(float(by_day[f"bedrock_usd{suffix}"].sum()), 2),
                "total_usd": round(float(by_day[f"cum_total_usd{suffix}"][-1]), 4) if by_day.height else 0.0,
                "total_instance_days": int(by_day[f"aws_instances{suffix}"].sum()),
            }
            for rule, suffix in RULES.items()
        },
        "first_day": by_day["date"].min().isoformat() if by_day.height else None,
        "last_day": by_day["date"].max().isoformat() if by_day.height else None,
    }


def daily_reporters(history: pl.LazyFrame, instances: pl.DataFrame, day: date) -> pl.DataFrame:
    """AWS customer installs reporting each day, and how many of them persisted (reference 6.8).

    Inputs as for :func:`spend_by_day`. One row per UTC day from the first AWS customer
    install-day to ``day``, zero-filled (empty frame with the columns when there is none);
    Int64 columns (:data:`REPORTERS_SCHEMA`): ``all_reporters`` (AWS customer installs
    active that day), ``persisted_2events`` (those with at least 2 events over all their
    AWS install-days up to ``day``), ``persisted_2days`` (those with at least 2 AWS
    install-days; equals ``aws_instances_persisted`` of :func:`spend_by_day`).
    """
    days = _aws_customer_days(history, instances, day)
    if days.is_empty():
        return pl.DataFrame(schema=REPORTERS_SCHEMA)
    per_day = (
        days.with_columns(pl.col("events").sum().over("registry_id").alias("aws_events"))
        .group_by("date")
        .agg(
            pl.len().alias("all_reporters"),
            (pl.col("aws_events") >= 2).sum().alias("persisted_2events"),
            (pl.col("aws_days") >= 2).sum().alias("persisted_2days"),
        )
    )
    grid = pl.DataFrame({"date": day_range(days["date"].min(), day)}, schema={"date": pl.Date})
    return grid.join(per_day, on="date", how="left").fill_null(0).sort("date").select(list(REPORTERS_SCHEMA)).cast(REPORTERS_SCHEMA)
