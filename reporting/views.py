"""The admin dashboard page and its CSV export; every number comes from ``reporting.dashboard``."""

from __future__ import annotations

import csv
from datetime import date
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from reporting.dashboard import DashboardFigures, DateRange, budget_downgrades, dashboard_csv_rows, dashboard_figures
from routing.selectors import budget_alerts, budget_settings_get

DEFAULT_DAYS = 30
TOP_REASONS = 10
MAX_DAYS = 366


class PeriodForm(forms.Form):
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            raise forms.ValidationError("The start date must not be after the end date.")
        if start and end and (end - start).days >= MAX_DAYS:
            raise forms.ValidationError(f"Choose at most {MAX_DAYS} days.")
        if end and end >= date.max:
            raise forms.ValidationError("Choose an end date before 9999-12-31.")
        return cleaned


def period_from(*, form: PeriodForm) -> DateRange:
    if form.is_valid():
        return DateRange(start=form.cleaned_data["start"], end=form.cleaned_data["end"])
    return DateRange.last_days(days=DEFAULT_DAYS)


def dashboard_view(request: HttpRequest) -> HttpResponse:
    # Costs are for whoever may read the ledger (admins), not for every staff member.
    if not request.user.has_perm("routing.view_ledgerentry"):
        raise PermissionDenied
    default = DateRange.last_days(days=DEFAULT_DAYS)
    form = PeriodForm(request.GET or None, initial={"start": default.start, "end": default.end})
    if request.GET.get("format") == "csv" and form.is_bound and not form.is_valid():
        # An export of other dates than the ones asked for would be read as the right figures.
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain; charset=utf-8")
    figures = dashboard_figures(period=period_from(form=form))
    if request.GET.get("format") == "csv":
        return dashboard_csv(figures=figures)
    context = {
        **admin.site.each_context(request),
        "title": "Cost and satisfaction",
        "form": form,
        "figures": figures,
        "alerts": budget_alerts(),
        "budget": budget_settings_get(),
        "budget_downgrades": budget_downgrades(period=figures.period),
        "chart_data": chart_data(figures=figures),
        "csv_query": f"start={figures.period.start.isoformat()}&end={figures.period.end.isoformat()}&format=csv",
    }
    return TemplateResponse(request, "admin/dashboard.html", context)


def dashboard_csv(*, figures: DashboardFigures) -> HttpResponse:
    period = figures.period
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="supportbot-dashboard-{period.start}-to-{period.end}.csv"'
    csv.writer(response).writerows(dashboard_csv_rows(figures=figures))
    return response


def chart_data(*, figures: DashboardFigures) -> dict[str, Any]:
    """The series the charts draw, as JSON-ready numbers (the page's tables show the same figures)."""
    days = figures.days
    tiers = list(next(iter(figures.cost_by_day_and_tier.values()), {}))
    return {
        "days": [day.day.isoformat() for day in days],
        "tiers": tiers,
        "cost_by_tier": {tier: [float(figures.cost_by_day_and_tier[d.day][tier]) for d in days] for tier in tiers},
        "cost_per_resolved": [_float(d.cost_per_resolved) for d in days],
        "handoff_rate": [d.rates.handoff_rate for d in days],
        "escalation_rate": [d.rates.escalation_rate for d in days],
        "bot_resolution_rate": [d.rates.bot_resolution_rate for d in days],
        "csat_mean": [d.satisfaction.rating_mean for d in days],
        "estimate_mean": [d.satisfaction.estimate_mean for d in days],
        "answer_share": {tier: share["share"] for tier, share in figures.answer_share.items()},
        "time_to_first_token": {
            tier: [latency["p50"], latency["p95"]] for tier, latency in figures.time_to_first_token.items()
        },
        "contact_reasons": [
            {
                "reason": reason.reason,
                "conversations": reason.conversations,
                "bot_resolution_rate": reason.bot_resolution_rate,
                "csat_mean": reason.csat_mean,
            }
            for reason in (figures.contact_reasons.reasons if figures.contact_reasons else [])[:TOP_REASONS]
        ],
    }


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]
