"""`/admin/dashboard`: figures for a period and a merchant, each table as CSV, each chart as an
SVG of its own (pygal, no JavaScript) drawn from the same table the page shows."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pygal
from flask import abort, current_app, render_template, request
from flask_babel import gettext as _
from pygal.style import Style
from wtforms import DateField, SelectField
from wtforms.validators import Optional

from portal import csvexport
from portal.admin import bp, console_number, console_percent
from portal.admin.services import dashboard as service
from portal.admin.text import lazy_gettext as _l
from portal.forms import Form
from portal.models.types import utcnow
from portal.security import no_store

DEFAULT_DAYS = 30
# Dates outside these are typing mistakes, and would overflow a timestamp near year 1 or 9999.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
DATE_ERROR = _l("Enter the date as YYYY-MM-DD, for example 2026-11-01.")


class DashboardForm(Form):
    """A GET form (bookmarkable, changes nothing), so no CSRF token."""

    class Meta:
        csrf = False

    since = DateField(_l("From"), name="from", validators=[Optional()])
    until = DateField(_l("To (included)"), name="to", validators=[Optional()])
    merchant = SelectField(_l("Merchant"), validators=[Optional()], validate_choice=False)

    def scope(self, today: date, tz: str) -> service.Scope | None:
        """The period and merchant asked for (defaults: the last 30 days, all merchants), or
        None with the reasons on the fields."""
        self.merchant.choices = [("", _("All merchants"))] + [
            (str(id_), name) for id_, name in service.merchants()
        ]
        ok = self.validate()
        for f in (self.since, self.until):
            if f.errors:
                f.errors = [DATE_ERROR]
        merchant_id = None
        if self.merchant.data:
            if self.merchant.data not in {value for value, _name in self.merchant.choices}:
                self.merchant.errors = [_("Choose a merchant from the list.")]
                ok = False
            else:
                merchant_id = int(self.merchant.data)
        if not ok:
            return None
        until = self.until.data or today
        since = self.since.data or until - timedelta(days=DEFAULT_DAYS - 1)
        for f, day in ((self.since, since), (self.until, until)):
            if not FIRST_DAY <= day <= LAST_DAY:
                f.errors = [
                    _(
                        "Choose a date between %(first)s and %(last)s.",
                        first=FIRST_DAY,
                        last=LAST_DAY,
                    )
                ]
                return None
        if until < since:
            self.until.errors = [_("The end date is before the start date.")]
            return None
        if (until - since).days + 1 > service.MAX_DAYS:
            self.until.errors = [_("Choose at most %(days)s days.", days=service.MAX_DAYS)]
            return None
        # Show the dates used, defaults included, so the page says what it counted.
        self.since.data, self.until.data = since, until
        self.since.raw_data = self.until.raw_data = None
        return service.Scope(since, until, merchant_id, tz)


def _time_zone() -> str:
    return current_app.config["DEFAULT_TIMEZONE"]


def _scope_from_request() -> tuple[DashboardForm, service.Scope | None]:
    form = DashboardForm(request.args)
    tz = _time_zone()
    return form, form.scope(utcnow().astimezone(ZoneInfo(tz)).date(), tz)


def _query(scope: service.Scope) -> dict[str, str]:
    """The query string that asks for `scope` again (CSV and chart links)."""
    return {
        "from": scope.since.isoformat(),
        "to": scope.until.isoformat(),
        "merchant": str(scope.merchant_id or ""),
    }


# --- the page ----------------------------------------------------------------------------------


LABELS = {"sms": "SMS", "email": "E-mail"}

# The words label() makes of the codes the tables hold, and the messages table's state columns,
# marked for the console's catalogue (the page translates them; the CSV keeps the codes).
N_ = service.N_
CODE_WORDS = (
    # parcel statuses
    N_("Pending"),
    N_("Picked up"),
    N_("In transit"),
    N_("Out for delivery"),
    N_("Delivery failed"),
    N_("Ready for pickup"),
    N_("Delivered"),
    N_("On hold"),
    N_("Delayed"),
    N_("Return to sender"),
    N_("Cancelled"),
    # delivery choices
    N_("Slot"),
    N_("Green day"),
    N_("Pickup point"),
    N_("Locker"),
    N_("Safe place"),
    N_("Neighbour"),
    N_("Hold"),
    # return reasons and complaint types
    N_("Too small"),
    N_("Too large"),
    N_("Damaged"),
    N_("Not as described"),
    N_("Wrong item"),
    N_("Changed mind"),
    N_("Other"),
    N_("Missing item"),
    N_("Not received"),
    N_("Late"),
    # message states and channels
    N_("Queued"),
    N_("Sent"),
    N_("Failed"),
    N_("Suppressed"),
    N_("SMS"),
    N_("E-mail"),
    N_("Webhook"),
)


def label(value: object) -> str:
    """`out_for_delivery` → `Out for delivery`, in the console's language."""
    return _(LABELS.get(str(value)) or str(value).replace("_", " ").capitalize())


def term(text: object) -> str:
    """A table's English words (a title, a column, a figure's name) in the console's language."""
    return _(str(text)) if text else ""


def cell(column: service.Column, value: object) -> str:
    """A table cell as the page shows it (the CSV keeps the raw value)."""
    if value is None:
        return "–"
    if column.kind == "count":
        return console_number(value)
    if column.kind == "percent":
        return console_percent(value)
    if column.kind == "number" and isinstance(value, int | float):
        # Up to two decimals, none when they are zero: 66.7, 0.31, 12 (66,7 in Swedish).
        return console_number(value, "#,##0.##")
    if column.kind == "label":
        return label(value)
    if column.kind == "term":
        return term(value)
    if value == service.ALL_MERCHANTS:  # the summary's scope row without a merchant
        return term(value)
    return str(value)


@bp.get("/dashboard")
def dashboard():
    form, scope = _scope_from_request()
    if scope is None:
        page = render_template("admin/dashboard.html", form=form, board=None, title_error=True)
        return no_store(current_app.make_response((page, 422)))
    board = service.build(scope)
    return no_store(
        current_app.make_response(
            render_template(
                "admin/dashboard.html",
                form=form,
                board=board,
                tables={t.key: t for t in board.tables()},
                charts=CHARTS,
                query=_query(scope),
                cell=cell,
                tr=term,
                pct=service.Column("", "percent"),
                num=service.Column("", "number"),
                baseline_grams=service.baseline_grams(),
                time_zone=scope.tz,
            )
        )
    )


# --- CSV ---------------------------------------------------------------------------------------

_TABLE_KEYS = ", ".join(f"'{key}'" for key in service.TABLES)


@bp.get(f"/dashboard/<any({_TABLE_KEYS}):key>.csv")
def dashboard_csv(key: str):
    _form, scope = _scope_from_request()
    if scope is None:
        abort(422)
    table = service.table(key, scope)
    name = f"{key}_{scope.since}_{scope.until}"
    if scope.merchant_id is not None:
        name += f"_merchant-{scope.merchant_id}"
    return csvexport.download(f"{name}.csv", table.header, table.rows)


# --- charts ------------------------------------------------------------------------------------

STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1b1f24",
    foreground_strong="#1b1f24",
    foreground_subtle="#c9d0d8",
    opacity="1",
    opacity_hover="1",
    transition="0s",
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    label_font_size=14,
    major_label_font_size=14,
    value_font_size=14,
    legend_font_size=14,
    no_data_font_size=20,
    # The site's brand green first, then colours that stay apart for colour-blind readers.
    colors=("#0b5a3c", "#1a56db", "#8a4b00", "#b00020", "#6b7280", "#7c3aed"),
    # Figures printed on the bars: every colour above is dark enough for white text.
    value_colors=("#ffffff",) * 6,
)

# chart → (what the <img> alt says, the table it draws, the columns drawn as series, stacked)
CHARTS: dict[str, tuple[str, list[int], bool]] = {
    "parcels-by-status": (_l("Bar chart of parcels by status"), [1], False),
    "delivery-choices": (
        _l("Bar chart of delivery choices, green ones first in colour"),
        [2],
        True,
    ),
    "return-reasons": (_l("Bar chart of return reasons"), [1], False),
    "complaints": (_l("Bar chart of complaints filed and closed by type"), [1, 2], False),
    "messages": (_l("Stacked bar chart of SMS and e-mail by state"), [1, 2, 3, 4, 5], True),
    # Drawn by promise_chart_svg: a line per carrier and zone, week by week.
    "promise-kept": (
        _l(
            "Line chart of the share of parcels delivered by their promised day, week by week, "
            "one line per carrier and zone"
        ),
        [5],
        False,
    ),
}


def _without_scripts(root: ElementTree.Element) -> ElementTree.Element:
    """pygal always adds its config <script>; an image needs none, and we send no code."""
    for parent in root.iter():
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return root


def _largest(table: service.Table, columns: list[int], stacked: bool) -> int:
    values = [[row[c] or 0 for c in columns] for row in table.rows]
    return max((sum(v) if stacked else max(v) for v in values), default=0)


def _ticks(largest: int) -> list[int]:
    """Whole-number axis steps (1, 2 or 5 × 10ⁿ), about ten at most: counts have no halves."""
    steps = (m * 10**e for e in itertools.count() for m in (1, 2, 5))
    step = next(s for s in steps if largest / s <= 10)
    return list(range(0, largest + step, step))


def _config(**options) -> pygal.Config:
    return pygal.Config(
        js=[],
        disable_xml_declaration=True,
        style=STYLE,
        width=800,
        show_legend=True,
        legend_at_bottom=True,
        legend_at_bottom_columns=3,
        truncate_label=-1,
        truncate_legend=-1,
        tooltip_fancy_mode=False,
        no_data_text=_("Nothing in this period"),
        **options,
    )


def promise_chart_svg(table: service.Table) -> str:
    """The promise-kept table (carrier, zone, week from, …, share) as one line per carrier and
    zone across the weeks, 0–100 %; a week without deliveries for a line is a gap."""
    weeks = sorted({row[2] for row in table.rows})
    lines: dict[tuple[str, str], dict[str, float]] = {}
    for carrier, zone, week, *_counts, share in table.rows:
        lines.setdefault((carrier, zone), {})[week] = share
    chart = pygal.Line(
        _config(
            height=420,
            range=(0, 100),
            allow_interruptions=True,
            print_values=False,
            # A year's 53 weeks don't fit side by side: a dozen labels, the rest as ticks.
            x_labels_major_count=12,
            show_minor_x_labels=len(weeks) <= 12,
        )
    )
    if table.rows:  # pygal can't place axis labels on a chart without data
        chart.y_labels = list(range(0, 101, 20))
    chart.value_formatter = console_percent
    chart.add_xml_filter(_without_scripts)
    chart.x_labels = weeks
    for (carrier, zone), shares in lines.items():
        chart.add(f"{carrier} · {zone}", [shares.get(week) for week in weeks])
    return chart.render(is_unicode=True)


def chart_svg(key: str, table: service.Table) -> str:
    if key == "promise-kept":
        return promise_chart_svg(table)
    _alt, columns, stacked = CHARTS[key]
    kind = pygal.HorizontalStackedBar if stacked else pygal.HorizontalBar
    config = _config(
        height=max(200, 110 + 48 * len(table.rows)),
        print_values=True,
        print_zeroes=False,
    )
    chart = kind(config)
    chart.y_labels = _ticks(_largest(table, columns, stacked))
    chart.add_xml_filter(_without_scripts)
    # pygal draws the first row at the bottom: reversed, the bars read in the table's order.
    rows = table.rows[::-1]
    chart.x_labels = [label(row[0]) for row in rows]
    if key == "delivery-choices":
        # Two series, so the green choices stand apart in colour and in the legend.
        chart.add(_("Green choices"), [row[2] if row[1] == "yes" else None for row in rows])
        chart.add(_("Other choices"), [None if row[1] == "yes" else row[2] for row in rows])
    else:
        for column in columns:
            chart.add(term(table.columns[column].label), [row[column] for row in rows])
    return chart.render(is_unicode=True)


@bp.get(f"/dashboard/<any({', '.join(repr(k) for k in CHARTS)}):key>.svg")
def dashboard_chart(key: str):
    _form, scope = _scope_from_request()
    if scope is None:
        abort(422)
    response = current_app.response_class(
        chart_svg(key, service.table(key, scope)), mimetype="image/svg+xml"
    )
    # pygal styles its drawing with an inline <style>; nothing else may load or run, also when
    # the SVG is opened on its own rather than as an <img>.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return no_store(response)
