"""Batch tests in the console (editors): upload questions with what is expected (JSONL or
CSV, the `faqbot eval` format), watch the run, see pass or fail per line with what changed
since the previous run of the same file, export the results."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, Response, UploadFile
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from backoffice.batch import BatchStore
from backoffice.jobs import JobStatus
from bot.errors import InputError
from web.admin.common import CheckedEditor, Editor, csv_download, found_or_404, page
from web.deps import office_of

router = APIRouter(include_in_schema=False)
MAX_FILE_BYTES = 2 * 1024 * 1024


def batches_of(request: Request) -> BatchStore:
    return office_of(request).batch


def batch_page(request: Request, operator, error: str | None = None,
               status: int = 200) -> Response:
    runs = batches_of(request).recent()
    queue = office_of(request).jobs
    jobs = {run.job_id: queue.get(run.job_id) for run in runs}
    busy = any(j.status in (JobStatus.QUEUED, JobStatus.RUNNING) for j in jobs.values())
    return page(request, "batch.html", {
        "title": "Batch tests", "section": "batch", "operator": operator, "runs": runs,
        "jobs": jobs, "error": error, "refresh": busy}, status)


@router.get("/admin/batch")
async def batch_list(request: Request, operator: Editor) -> Response:
    return await run_in_threadpool(batch_page, request, operator)


@router.post("/admin/batch")
async def batch_upload(request: Request, operator: CheckedEditor,
                       file: Annotated[UploadFile, File()]) -> Response:
    data = await file.read(MAX_FILE_BYTES + 1)
    try:
        if len(data) > MAX_FILE_BYTES:
            raise InputError("the file is over 2 MB")
        text = data.decode("utf-8-sig")
        await run_in_threadpool(batches_of(request).create, file.filename or "questions",
                                text, operator.username)
    except UnicodeDecodeError:
        return await run_in_threadpool(batch_page, request, operator,
                                       "the file is not UTF-8 text", 422)
    except InputError as exc:
        return await run_in_threadpool(batch_page, request, operator, str(exc), 422)
    return RedirectResponse("/admin/batch", 303)


@router.get("/admin/batch/{run_id}")
async def batch_detail(request: Request, run_id: int, operator: Editor) -> Response:
    run = await found_or_404(batches_of(request).get, run_id)
    return page(request, "batch_run.html", {"title": run.name, "section": "batch",
                                            "operator": operator, "run": run})


@router.get("/admin/batch/{run_id}/results.csv")
async def batch_export(request: Request, run_id: int, operator: Editor) -> Response:
    body = await found_or_404(batches_of(request).export_csv, run_id)
    return csv_download(body, f"batch-{run_id}.csv")
