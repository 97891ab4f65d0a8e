"""The dashboard: questions per day, replies by kind, ratings, topics, latency."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from backoffice.review import dashboard
from web.admin import charts
from web.admin.common import Operator, page, review_of

router = APIRouter(include_in_schema=False)


@router.get("/admin/dashboard")
async def dashboard_page(request: Request, operator: Operator) -> Response:
    data = await run_in_threadpool(dashboard, review_of(request))
    labels = [d.strftime("%m-%d") for d in data.days]
    chart_set = {
        "per_day": charts.stacked_bars(labels, data.per_day, "Questions per day"),
        "kinds": charts.horizontal_bars(sorted(data.kinds.items()), "Replies by kind"),
        "ratings": charts.horizontal_bars([("👍 up", data.ratings["up"]),
                                           ("👎 down", data.ratings["down"])], "Ratings"),
        "topics": charts.horizontal_bars(data.topics, "Top topics"),
        "latency": charts.line(labels, data.latency_p95, "p95 latency per day"),
    }
    return page(request, "dashboard.html", {
        "title": "Dashboard", "section": "dashboard", "operator": operator, "data": data,
        "charts": chart_set})
