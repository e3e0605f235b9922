"""Predicted delivery dates (issue 18): when a parcel will arrive, learned from history.

- `workdays`: working days of a destination (weekends, public holidays, closed days);
- `journeys`: from postcodes to a journey (zones, origin area);
- `segments`: which parcels are comparable (route, zone pair, carrier, the defaults) and the
  estimate one reads for a journey;
- `predict`: from a segment's transit counts to dates, a range and its confidence;
- `fit`: the counts per segment from the observations, one SQL aggregate;
- `record`: what scans teach (the promise at pickup, the transit at delivery);
- `history`: an operator's history imported from a CSV file;
- `backtest`: how well the fit would have predicted the last N days.
"""

from portal.services.edd.backtest import Backtest, Score, backtest
from portal.services.edd.fit import FitResult, fit_estimates
from portal.services.edd.history import COLUMNS as HISTORY_COLUMNS
from portal.services.edd.history import HistoryResult, import_history
from portal.services.edd.journeys import journey_between
from portal.services.edd.predict import (
    Prediction,
    predict,
    predict_before_shipping,
    predict_parcel,
    transit_range,
)
from portal.services.edd.record import Backfilled, after_scans, backfill
from portal.services.edd.segments import (
    BASES,
    Estimate,
    Journey,
    estimate_for,
    forget_estimates,
    origin_area,
)
from portal.services.edd.workdays import WorkCalendar, calendar_for, forget_closed_days

__all__ = [
    "BASES",
    "HISTORY_COLUMNS",
    "Backfilled",
    "Backtest",
    "Estimate",
    "FitResult",
    "HistoryResult",
    "Journey",
    "Prediction",
    "Score",
    "WorkCalendar",
    "after_scans",
    "backfill",
    "backtest",
    "calendar_for",
    "estimate_for",
    "fit_estimates",
    "forget_closed_days",
    "forget_estimates",
    "import_history",
    "journey_between",
    "origin_area",
    "predict",
    "predict_before_shipping",
    "predict_parcel",
    "transit_range",
]
