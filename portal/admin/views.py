"""Agents' pages: the search box, the parcel console and its actions, the queues, the audit log."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from portal.admin import bp
from portal.security import no_store
from portal.services.search import search


@bp.get("/")
def home():
    query = request.args.get("q", "")
    result = search(query) if query.strip() else None
    if result is not None and result.exact and request.args.get("go") != "list":
        return redirect(url_for(".parcel", tn=result.exact))
    return no_store(render_template("admin/home.html", query=query, result=result))


@bp.get("/parcels/<tn>")
def parcel(tn: str):
    from portal.services.parcels import find_parcel

    p = find_parcel(tn)
    return no_store(render_template("admin/parcel.html", parcel=p))
