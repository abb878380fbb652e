"""Rule-based recommendations of report day D: what changed since the previous report (D-1).

The eleven rules of reference 7.4, in its order, as deterministic functions of two flat
mappings of computed values (D and D-1) and the install forecasts of D-1..D-3. Each rule
that fires gives one bullet ``{"rule", "text", "numbers", "sources"}``: ``text`` is a
Markdown-safe sentence built only from the numbers in ``numbers`` and the rule's own
thresholds, ``sources`` names the assets those numbers come from.
:func:`recommendation_inputs` gathers the values of one day from the ``fleet_metrics``, ``liveness``, ``ltv_spend``, ``install_forecast`` and
``github_stats`` documents; :func:`recommendation_rules` lists the rules for the appendix.

Difference from the reference, and why: every rule fires on a **crossing** - a threshold
or a state that holds on D and did not hold on D-1 - so a bullet is news, not a standing
remark repeated daily (the reference's rules 7 and 8 fire on every report once their
threshold is met, quirk 25). States are entered: install pace, forecast agreement, the
30-day cohort and the missing auth-path data fire on the first day they hold. Rule 1 still
names the highest milestone crossed, and also says how many were crossed. Rule 2's "new
high" means above D-1's value (the only earlier value it sees), not an all-time high.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from usage_assets.enrichment.github_stats import github_changes
from usage_assets.metrics import spend
from usage_assets.metrics.forecast import install_forecast
from usage_assets.storage.datasets import (
    CUMULATIVE_INSTALLS,
    FLEET_METRICS,
    GITHUB_STATS,
    INSTALL_FORECAST,
    LIVENESS,
    LTV_SPEND,
    LTV_SPEND_BY_DAY,
)
from usage_assets.storage.lake import Lake

SOURCE_FLEET = FLEET_METRICS
SOURCE_LIVENESS = LIVENESS
SOURCE_SPEND = LTV_SPEND
SOURCE_FORECAST = INSTALL_FORECAST
SOURCE_GITHUB = GITHUB_STATS

#: Install counts that are milestones (rule 1).
INSTALL_MILESTONES = tuple(range(500, 2001, 100))
#: Confirmed / Stronger Alive announce every multiple of this (rules 2 and 3).
ALIVE_STEP = 10
#: From this many Confirmed Alive installs on, any rise above D-1 is announced (rule 2).
CONFIRMED_HIGH_FROM = 50
#: Recent pace below this share of the trend slope is a deceleration (rule 4).
DECELERATION_RATIO = 0.85
#: Reports in a row (D and the ones before it) with recent pace above the trend slope (rule 4).
SUSTAINED_REPORTS = 3
#: Earlier install forecasts rule 4 needs (D-1..D-3): two to hold on D, one more to tell
#: whether it already held on D-1.
PACE_HISTORY_DAYS = SUSTAINED_REPORTS
#: The two forecast ETAs at most this many days apart have converged ... (rule 5)
ETA_CONVERGED_DAYS = 2
#: ... and at least this many days apart have diverged.
ETA_DIVERGED_DAYS = 7
#: The longest customer lifetime is announced at every multiple of a week from four weeks on (rule 6).
LONGEST_STEP_DAYS = 7
LONGEST_FROM_DAYS = 28
#: The 30-day cohort counts once both hold (rule 7).
COHORT_30D_PCT = 5.0
COHORT_30D_INSTALLS = 25
#: Cumulative all-days infra spend is announced at every multiple of this, in USD (rule 8).
LTV_STEP_USD = 5000
#: One-day-wonder share moves worth a bullet, in percentage points (rule 9).
ONE_DAY_WONDER_MOVE_PP = 1.0
#: Stars or forks gained since D-1 worth a bullet (rule 10).
GITHUB_GROWTH = 5

# What a rule returns when it fires: (text, numbers).
Fired = tuple[str, dict]


@dataclass(frozen=True)
class Rule:
    """One recommendation rule: id, title and condition for the report's appendix."""

    id: str
    title: str
    fires_when: str
    sources: tuple[str, ...]
    evaluate: Callable[[Mapping, Mapping | None, Sequence[Mapping]], Fired | None]


def recommendation_inputs(
    fleet: Mapping,
    liveness: Mapping,
    spend_by_day: pl.DataFrame,
    day: date,
    forecast: Mapping | None,
    github: Mapping | None,
) -> dict:
    """The values :func:`recommendations` reads, for UTC ``day``, from the assets' documents.

    ``fleet``: the ``fleet_metrics`` document (``key_metrics``, ``stickiness``,
    ``auth_path``); ``liveness``: the ``liveness`` document (``counts``); ``spend_by_day``:
    :func:`usage_assets.metrics.spend.spend_by_day` of ``day`` or a later day (only rows up to
    ``day`` are used, so D's frame also gives D-1's values, priced alike); ``forecast``: the
    install forecast of ``day``; ``github``: the GitHub document of ``day`` or None.
    ``ltv_all_days_usd`` is the all-days cumulative total (USD, 4 dp; 0.0 without AWS
    customer install-days); the ARR figures are those of the spend summary
    (:func:`usage_assets.metrics.spend.annualized_musd` of the last days ending ``day``). Raises ``KeyError`` when a document lacks a key.
    """
    sticky, counts, auth = fleet["stickiness"], liveness["counts"], fleet["auth_path"]
    upto = spend_by_day.filter(pl.col("date") <= day)
    week = spend.last_days(upto, day)

    def arr_musd(rule: str) -> float:
        return spend.annualized_musd(float(week[f"total_usd{spend.RULES[rule]}"].sum()), week.height)

    return {
        "total_instances": fleet["key_metrics"]["identified_instances"],
        "confirmed": counts["confirmed"],
        "stronger": counts["stronger"],
        "longest_customer_days": sticky["longest_non_internal_days"],
        "pct_30d": sticky["lifetime_bucket_pct"]["30"],
        "monthly_count": sticky["lifetime_bucket_counts"]["30"],
        "ltv_all_days_usd": round(float(upto["cum_total_usd"][-1]), 4) if upto.height else 0.0,
        "arr_all_days_musd": arr_musd("all_days"),
        "arr_proven_musd": arr_musd("proven"),
        "one_day_wonder_pct": sticky["one_day_wonder_pct"],
        "github": github,
        "schema_v6_instances": auth["schema_v6_instances"],
        "auth_reporting_instances": auth["reporting_instances"],
        "forecast": forecast,
    }


def recommendations(current: Mapping, previous: Mapping | None, pace_history: Sequence[Mapping] = ()) -> list[dict]:
    """Bullets of every rule that fires on D, in rule order (empty list when none does).

    ``current`` / ``previous`` (D / D-1; ``previous`` None when there is no D-1 report) hold:
    ``total_instances``, ``confirmed``, ``stronger``, ``monthly_count``,
    ``schema_v6_instances``, ``auth_reporting_instances`` (int); ``longest_customer_days``
    (int or None); ``pct_30d``, ``one_day_wonder_pct`` (percent, 1 dp);
    ``ltv_all_days_usd`` (USD); ``arr_all_days_musd``, ``arr_proven_musd`` (million USD a
    year); ``github`` (:func:`usage_assets.enrichment.github_stats.fetch_github_stats` document or
    None); ``forecast`` (the install forecast: ``available``, ``linear.slope_per_day``,
    ``linear.eta``, ``recent_pace.daily_add_rate``, ``recent_pace.eta``, ETAs ISO dates or
    None). A None value keeps its rule quiet.

    ``pace_history``: the install forecasts of D-1, D-2, D-3 (:data:`PACE_HISTORY_DAYS`),
    newest first (shorter when those days have no forecast); only rule 4 reads it. Every other rule compares with
    ``previous``, and none of them fires when ``previous`` is None: without D-1 nothing can
    be said to have been crossed. Raises ``KeyError`` when a key is missing from ``current``
    (or from a given ``previous``).

    Each bullet: ``{"rule": id, "text": str, "numbers": {name: value}, "sources": [asset]}``.
    """
    bullets = []
    for rule in RULES:
        fired = rule.evaluate(current, previous, pace_history)
        if fired is not None:
            text, numbers = fired
            bullets.append({"rule": rule.id, "text": text, "numbers": numbers, "sources": list(rule.sources)})
    return bullets


def recommendations_of_day(lake: Lake, day: date, target: int) -> dict:
    """The ``recommendations`` document of UTC ``day``, read from the lake.

    Reads D's ``fleet_metrics``, ``liveness``, ``ltv_spend_by_day``, ``cumulative_installs``,
    ``install_forecast`` and ``github_stats``, and D-1's ``fleet_metrics``, ``liveness``
    and ``github_stats`` when they exist. The forecasts of D-1..D-3 that rule 4 needs are
    recomputed from D's cumulative series cut short (``target``: the forecast's install
    target), so no earlier forecast file is needed. Returns ``{"report_date",
    "compared_with" (D-1, or None without D-1's metrics), "recommendations"}``. Raises
    :class:`usage_assets.storage.lake.MissingPartitionsError` when one of D's inputs is missing.
    """
    before = day - timedelta(days=1)
    spend_by_day = lake.read_frame(LTV_SPEND_BY_DAY, day)
    series = lake.read_frame(CUMULATIVE_INSTALLS, day)
    current = recommendation_inputs(
        lake.read_json(FLEET_METRICS, day), lake.read_json(LIVENESS, day), spend_by_day, day,
        lake.read_json(INSTALL_FORECAST, day), lake.read_json(GITHUB_STATS, day),
    )
    pace_history = [
        install_forecast(series.filter(pl.col("date") <= day - timedelta(days=back)), target=target)
        for back in range(1, PACE_HISTORY_DAYS + 1)
    ]
    previous_fleet = lake.read_json_if_present(FLEET_METRICS, before)
    previous_liveness = lake.read_json_if_present(LIVENESS, before)
    previous = None
    if previous_fleet is not None and previous_liveness is not None:
        previous = recommendation_inputs(
            previous_fleet, previous_liveness, spend_by_day, before, pace_history[0],
            lake.read_json_if_present(GITHUB_STATS, before),
        )
    return {
        "report_date": day.isoformat(),
        "compared_with": before.isoformat() if previous else None,
        "recommendations": recommendations(current, previous, pace_history),
    }


def recommendation_rules() -> list[dict]:
    """The rules for the report's appendix, in rule order: ``{"rule", "title", "fires_when", "sources"}``."""
    return [
        {"rule": rule.id, "title": rule.title, "fires_when": rule.fires_when, "sources": list(rule.sources)}
        for rule in RULES
    ]


def _pair(current: Mapping, previous: Mapping | None, key: str) -> tuple | None:
    """(D value, D-1 value) of ``key``, or None when there is no D-1 or either value is None."""
    if previous is None or current[key] is None or previous[key] is None:
        return None
    return current[key], previous[key]


def _highest_multiple_crossed(now: float, before: float, step: int, start: int) -> int | None:
    """The highest multiple m of ``step`` with m >= ``start`` and before < m <= now, else None."""
    highest = int(now // step) * step
    return highest if highest >= start and highest > before else None


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def _install_milestone(current: Mapping, previous: Mapping | None, _history: Sequence[Mapping]) -> Fired | None:
    pair = _pair(current, previous, "total_instances")
    if pair is None:
        return None
    now, before = pair
    crossed = [m for m in INSTALL_MILESTONES if before < m <= now]
    if not crossed:
        return None
    milestone = max(crossed)
    return (
        f"Installs passed {milestone:,}: {now:,} installs seen, {before:,} in the previous report "
        f"({_plural(len(crossed), 'milestone')} crossed). A good moment to tell the community.",
        {"total_instances": now, "previous_total_instances": before, "milestone": milestone,
         "milestones_crossed": len(crossed)},
    )


def _alive_crossing(key: str, label: str, current: Mapping, previous: Mapping | None) -> Fired | None:
    pair = _pair(current, previous, key)
    if pair is None:
        return None
    now, before = pair
    crossed = _highest_multiple_crossed(now, before, ALIVE_STEP, ALIVE_STEP)
    if crossed is None:
        return None
    return (
        f"{label} crossed {crossed:,}: {now:,} customer installs, {before:,} in the previous report.",
        {key: now, f"previous_{key}": before, "crossed": crossed},
    )


def _confirmed_alive(current: Mapping, previous: Mapping | None, _history: Sequence[Mapping]) -> Fired | None:
    fired = _alive_crossing("confirmed", "Confirmed Alive", current, previous)
    if fired is not None:
        return fired
    pair = _pair(current, previous, "confirmed")
    if pair is None:
        return None
    now, before = pair
    if now > before and now >= CONFIRMED_HIGH_FROM:
        return (
            f"Confirmed Alive rose to {now:,} customer installs, from {before:,} in the previous report.",
            {"confirmed": now, "previous_confirmed": before},
        )
    return None


def _stronger_alive(current: Mapping, previous: Mapping | None, _history: Sequence[Mapping]) -> Fired | None:
    return _alive_crossing("stronger", "Stronger Alive", current, previous)


def _rates(forecast: Mapping | None) -> tuple[float, float] | None:
    """(recent daily add rate, trend slope per day) of an available forecast, else None."""
    if not forecast or not forecast.get("available"):
        return None
    rate, slope = forecast["recent_pace"]["daily_add_rate"], forecast["linear"]["slope_per_day"]
    return None if rate is None or slope is None else (rate, slope)


def _pace_state(forecast: Mapping | None) -> str | None:
    rates = _rates(forecast)
    if rates is None:
        return None
    rate, slope = rates
    if rate > slope:
        return "acceleration"
    if rate < DECELERATION_RATIO * slope:
        return "deceleration"
    return None


def _sustained_acceleration(forecasts: Sequence[Mapping | None]) -> bool:
    """Whether the first :data:`SUSTAINED_REPORTS` forecasts (newest first) all show acceleration."""
    recent = forecasts[:SUSTAINED_REPORTS]
    return len(recent) == SUSTAINED_REPORTS and all(_pace_state(f) == "acceleration" for f in recent)


def _install_pace(current: Mapping, _previous: Mapping | None, history: Sequence[Mapping]) -> Fired | None:
    forecast = current["forecast"]
    state = _pace_state(forecast)
    if state is None:
        return None
    rate, slope = _rates(forecast)
    numbers = {"daily_add_rate": rate, "slope_per_day": slope}
    if state == "acceleration":
        if not _sustained_acceleration([forecast, *history]) or _sustained_acceleration(history):
            return None
        return (
            f"Install pace has run above the trend line for {SUSTAINED_REPORTS} reports in a row: "
            f"{rate:,.1f} installs a day recently against a trend of {slope:,.1f} a day. "
            "The trend-line ETA is likely late.",
            {**numbers, "consecutive_reports": SUSTAINED_REPORTS},
        )
    if not history or _pace_state(history[0]) == "deceleration":
        return None
    share = round(100.0 * rate / slope, 1)
    return (
        f"Install pace slowed to {rate:,.1f} installs a day, {share:.1f}% of the trend's {slope:,.1f} a day "
        f"(below {100 * DECELERATION_RATIO:.0f}%). Worth looking for a cause before the trend follows.",
        {**numbers, "pct_of_slope": share},
    )


def _parse_eta(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _etas(forecast: Mapping | None) -> tuple[date, date] | None:
    """(trend-line ETA, recent-pace ETA) of an available forecast when both are dates."""
    if not forecast or not forecast.get("available"):
        return None
    linear, recent = _parse_eta(forecast["linear"]["eta"]), _parse_eta(forecast["recent_pace"]["eta"])
    return None if linear is None or recent is None else (linear, recent)


def _eta_state(forecast: Mapping | None) -> str | None:
    etas = _etas(forecast)
    if etas is None:
        return None
    gap = abs((etas[1] - etas[0]).days)
    if gap <= ETA_CONVERGED_DAYS:
        return "converged"
    if gap >= ETA_DIVERGED_DAYS:
        return "diverged"
    return None


def _forecast_eta(current: Mapping, previous: Mapping | None, _history: Sequence[Mapping]) -> Fired | None:
    if previous is None:
        return None
    state = _eta_state(current["forecast"])
    if state is None or state == _eta_state(previous["forecast"]):
        return None
    linear, recent = _etas(current["forecast"])
    gap = abs((recent - linear).days)
    numbers = {"linear_eta": linear.isoformat(), "recent_pace_eta": recent.isoformat(), "gap_days": gap}
    if state == "converged":
        text = (f"The two install forecasts now agree: trend-line ETA {linear.isoformat()}, recent-pace ETA "
                f"{recent.isoformat()}, {_plural(gap, 'day')} apart. "
                "The target date can be quoted with some confidence.")
    else:
        text = (f"The two install forecasts now disagree by {_plural(gap, 'day')}: trend-line ETA "
                f"{linear.isoformat()}, recent-pace ETA {recent.isoformat()}. Quote the target date as a range.")
    return text, numbers


def _longest_customer(current: Mapping, previous: Mapping | None, _history: Sequence[Mapping]) -> Fired | None:
    pair = _pair(current, previous, "longest_customer_days")
    if pair is None:
        return None
    now, before = pair
    crossed = _highest_multiple_crossed(now, before, LONGEST_STEP_DAYS, LONGEST_FROM_DAYS)
    if crossed is None:
        return None
    return (
        f"The longest-lived customer install now spans {now:,} days from first to last report, "
        f"past {crossed // LONGEST_STEP_DAYS} weeks ({before:,} days in the previous report).",
        {"longest_customer_days": now, "previous_longest_customer_days": before, "crossed_days": crossed},
    )


def _cohort_holds(values: Mapping) -> bool | None:
    pct, count = values["pct_30d"], values["monthly_count"]
    if pct is None or count is None:
        return None
    return pct >= COHORT_30D_PCT and count >= COHORT_30D_INSTALLS


def _cohort_30d(current: Mapping, previous: Mapping | None, _history: Sequence[Mapping]) -> Fired | None:
    if previous is None or not _cohort_holds(current) or _cohort_holds(previous) is not False:
        return None
    pct, count = current["pct_30d"], current["monthly_count"]
    return (
        f"The 30-day cohort reached {pct:.1f}% of customer installs ({count:,} installs with a lifetime of 30 days "
        f"or more), at or above both {COHORT_30D_PCT:.1f}% and {COHORT_30D_INSTALLS:,} installs for the first time; "
        f"previous report {previous['pct_30d']:.1f}% ({previous['monthly_count']:,}). "
        "Enough long-running installs to ask their operators for feedback.",
        {"pct_30d": pct, "monthly_count": count, "previous_pct_30d": previous["pct_30d"],
         "previous_monthly_count": previous["monthly_count"]},
    )


def _ltv_all_days(current: Mapping, previous: Mapping | None, _history: Sequence[Mapping]) -> Fired | None:
    pair = _pair(current, previous, "ltv_all_days_usd")
    if pair is None:
        return None
    now, before = pair
    crossed = _highest_multiple_crossed(now, before, LTV_STEP_USD, LTV_STEP_USD)
    if crossed is None:
        return None
    proven, all_days = current["arr_proven_musd"], current["arr_all_days_musd"]
    return (
        f"Cumulative hypothetical customer infra spend on AWS (all days, at list price) passed ${crossed:,}: "
        f"${now:,.0f}, ${before:,.0f} in the previous report. Run rate ${proven:,.2f}M (proven) to "
        f"${all_days:,.2f}M (all days) a year.",
        {"ltv_all_days_usd": now, "previous_ltv_all_days_usd": before, "crossed_usd": crossed,
         "arr_proven_musd": proven, "arr_all_days_musd": all_days},
    )


def _one_day_wonders(current: Mapping, previous: Mapping | None, _history: Sequence[Mapping]) -> Fired | None:
    pair = _pair(current, previous, "one_day_wonder_pct")
    if pair is None:
        return None
    now, before = pair
    # Both shares have one decimal; rounding the difference keeps 12.3 - 11.3 at exactly 1.0.
    move = round(now - before, 1)
    if abs(move) < ONE_DAY_WONDER_MOVE_PP:
        return None
    if move < 0:
        text = (f"The one-day-wonder share fell {-move:.1f} pp to {now:.1f}% of customer installs "
                f"({before:.1f}% in the previous report): more new installs come back.")
    else:
        text = (f"The one-day-wonder share rose {move:.1f} pp to {now:.1f}% of customer installs "
                f"({before:.1f}% in the previous report): check the first-run experience of recent releases.")
    return text, {"one_day_wonder_pct": now, "previous_one_day_wonder_pct": before, "change_pp": move}


def _github_growth(current: Mapping, previous: Mapping | None, _history: Sequence[Mapping]) -> Fired | None:
    if previous is None or current["github"] is None or previous["github"] is None:
        return None
    changes = github_changes(current["github"], previous["github"])
    if not changes or "stars" not in changes or "forks" not in changes:
        return None
    stars, forks = changes["stars"], changes["forks"]
    if stars < GITHUB_GROWTH and forks < GITHUB_GROWTH:
        return None
    return (
        f"GitHub since the previous report: {current['github']['stars']:,} stars ({stars:+,}), "
        f"{current['github']['forks']:,} forks ({forks:+,}).",
        {"stars": current["github"]["stars"], "stars_change": stars,
         "forks": current["github"]["forks"], "forks_change": forks},
    )


def _auth_not_landing(values: Mapping) -> bool | None:
    v6, reporting = values["schema_v6_instances"], values["auth_reporting_instances"]
    if v6 is None or reporting is None:
        return None
    return v6 > 0 and reporting == 0


def _auth_path(current: Mapping, previous: Mapping | None, _history: Sequence[Mapping]) -> Fired | None:
    if previous is None or not _auth_not_landing(current) or _auth_not_landing(previous) is not False:
        return None
    v6 = current["schema_v6_instances"]
    return (
        f"Auth-path data is not landing: 0 of the {v6:,} schema v6 installs report an auth-path share. "
        "Check that the deployed collector accepts the v6 fields.",
        {"schema_v6_instances": v6, "auth_reporting_instances": current["auth_reporting_instances"]},
    )


RULES: tuple[Rule, ...] = (
    Rule("install_milestone", "Install milestone",
         f"installs passed one of {INSTALL_MILESTONES[0]:,}, {INSTALL_MILESTONES[1]:,}, ..., "
         f"{INSTALL_MILESTONES[-1]:,} since D-1 (the highest is named)",
         (SOURCE_FLEET,), _install_milestone),
    Rule("confirmed_alive", "Confirmed Alive",
         f"Confirmed Alive customers crossed a multiple of {ALIVE_STEP} since D-1, or rose above D-1 "
         f"at {CONFIRMED_HIGH_FROM} or more",
         (SOURCE_LIVENESS,), _confirmed_alive),
    Rule("stronger_alive", "Stronger Alive",
         f"Stronger Alive customers crossed a multiple of {ALIVE_STEP} since D-1",
         (SOURCE_LIVENESS,), _stronger_alive),
    Rule("install_pace", "Install pace",
         f"recent pace above the trend slope on {SUSTAINED_REPORTS} reports in a row (D and the two before) "
         f"for the first time, or below {100 * DECELERATION_RATIO:.0f}% of it on D but not on D-1",
         (SOURCE_FORECAST,), _install_pace),
    Rule("forecast_eta", "Forecast ETAs",
         f"the trend-line and recent-pace ETAs came within {ETA_CONVERGED_DAYS} days of each other, "
         f"or {ETA_DIVERGED_DAYS} or more days apart, on D but not on D-1",
         (SOURCE_FORECAST,), _forecast_eta),
    Rule("longest_customer", "Longest customer lifetime",
         f"the longest customer lifetime crossed a multiple of {LONGEST_STEP_DAYS} days, "
         f"from {LONGEST_FROM_DAYS} days on, since D-1",
         (SOURCE_FLEET,), _longest_customer),
    Rule("cohort_30d", "30-day cohort",
         f"installs with a lifetime of 30 days or more reached both {COHORT_30D_PCT:.1f}% of customers and "
         f"{COHORT_30D_INSTALLS} installs on D but not on D-1",
         (SOURCE_FLEET,), _cohort_30d),
    Rule("ltv_all_days", "Cumulative infra spend",
         f"cumulative all-days customer infra spend crossed a multiple of ${LTV_STEP_USD:,} since D-1",
         (SOURCE_SPEND,), _ltv_all_days),
    Rule("one_day_wonders", "One-day-wonder share",
         f"the one-day-wonder share moved {ONE_DAY_WONDER_MOVE_PP:.1f} pp or more since D-1",
         (SOURCE_FLEET,), _one_day_wonders),
    Rule("github_growth", "GitHub growth",
         f"GitHub stars or forks grew by {GITHUB_GROWTH} or more since D-1 (both days fetched)",
         (SOURCE_GITHUB,), _github_growth),
    Rule("auth_path_not_landing", "Auth path not landing",
         "schema v6 installs exist and none reports an auth-path share, on D but not on D-1",
         (SOURCE_FLEET,), _auth_path),
)
