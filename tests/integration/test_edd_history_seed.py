"""The bench's generated delivery history (portal/dev/bench.py): transits agree with the
working-day calendar, reseeding replaces it, and a fit on it beats the baseline in a backtest."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from portal.dev.bench import seed_history
from portal.extensions import db
from portal.models import TransitObservation
from portal.services.edd import WorkCalendar, backtest, fit_estimates

TODAY = date(2026, 11, 20)


def test_generated_history_is_counted_in_working_days_and_replaced_on_reseed():
    written, _ = seed_history(40, 150, today=TODAY)
    db.session.commit()
    rows = db.session.execute(select(TransitObservation)).scalars().all()
    assert len(rows) == written > 3000
    assert all(r.parcel_id is None and r.source_key is None for r in rows)
    assert all(r.picked_up_on < TODAY and r.delivered_on < TODAY for r in rows)
    for r in rows:
        assert r.transit_days == WorkCalendar(r.country).count(r.picked_up_on, r.delivered_on)
        assert r.pickup_weekday == r.picked_up_on.weekday() != 6
    assert len({r.carrier_id for r in rows}) == 3
    assert len({(r.origin_area, r.zone_id) for r in rows}) >= 20
    again, _ = seed_history(40, 150, today=TODAY)
    db.session.commit()
    assert again == written
    assert db.session.scalar(select(func.count()).select_from(TransitObservation)) == written


def test_a_fit_on_generated_history_beats_the_baseline():
    seed_history(60, 400, today=TODAY)
    db.session.commit()
    fit = fit_estimates(before=TODAY)
    assert fit.segments.get("route", 0) > 0 and fit.segments.get("zone_pair", 0) > 0
    result = backtest(30, today=TODAY)
    model, baseline = result.model.figures(), result.baseline.figures()
    assert result.model.parcels > 5000
    assert model["exact_day"] > baseline["exact_day"]
    assert model["mean_abs_error_days"] < baseline["mean_abs_error_days"]
    assert model["in_range"] > baseline["in_range"]


def test_seed_bench_generates_history_on_request(app):
    result = app.test_cli_runner().invoke(
        args=["seed-bench", "--parcels", "0", "--history-days", "10", "--history-per-day", "60"]
    )
    assert result.exit_code == 0, result.output
    assert "transit observations over 10 days" in result.output
    assert db.session.scalar(select(func.count()).select_from(TransitObservation)) > 300
