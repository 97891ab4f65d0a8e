"""The knowledge base in the console: documents (upload several at once, preview what
cleaning kept and dropped, replace, delete, re-index), the indexing jobs with their
progress, and the audit trail of every change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, HTTPException, Request, Response, UploadFile
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from backoffice.documents import MAX_UPLOAD_BYTES, DocumentStore
from backoffice.jobs import JobQueue
from backoffice.operators import OperatorSession
from bot.errors import InputError
from web.admin.common import CheckedEditor, Editor, apply_change, page
from web.deps import office_of

router = APIRouter(include_in_schema=False)
MAX_FILES = 20


def documents_of(request: Request) -> DocumentStore:
    return office_of(request).documents


def jobs_of(request: Request) -> JobQueue:
    return office_of(request).jobs


def documents_page(request: Request, operator: OperatorSession, results=None,
                   status: int = 200) -> Response:
    documents, queue = documents_of(request), jobs_of(request)
    active = queue.active()
    return page(request, "documents.html", {
        "title": "Documents", "section": "documents", "operator": operator,
        "documents": documents.list(), "jobs": queue.recent(8), "active": active,
        "results": results or [], "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
        "refresh": active is not None}, status)


@router.get("/admin/documents")
async def documents_list(request: Request, operator: Editor) -> Response:
    return await run_in_threadpool(documents_page, request, operator)


@router.post("/admin/documents")
async def documents_upload(request: Request, operator: CheckedEditor,
                           files: Annotated[list[UploadFile], File()]) -> Response:
    """Each file is read and checked now; one that cannot be used is reported while the
    others go in, and a build is queued for those."""
    if len(files) > MAX_FILES:
        raise HTTPException(413, f"at most {MAX_FILES} files at once")
    store = documents_of(request)
    results = []
    for upload in files:
        name = upload.filename or "file"
        data = await upload.read(MAX_UPLOAD_BYTES + 1)
        try:
            doc = await run_in_threadpool(store.add, name, data, operator.username)
        except InputError as exc:
            results.append({"name": name, "ok": False, "message": str(exc)})
            continue
        results.append({"name": name, "ok": True,
                        "message": f"#{doc.id}: {doc.format}, {doc.lang}, ~{doc.passages} "
                                   f"passages; queued for indexing"})
    if any(r["ok"] for r in results):
        await run_in_threadpool(jobs_of(request).enqueue, operator.username)
    ok = any(r["ok"] for r in results)
    return await run_in_threadpool(documents_page, request, operator, results,
                                   200 if ok else 422)


@router.get("/admin/documents/{doc_id}")
async def document_detail(request: Request, doc_id: int, operator: Editor) -> Response:
    store = documents_of(request)
    doc = await run_in_threadpool(store.get, doc_id)
    if doc is None:
        raise HTTPException(404, "no such document")
    try:
        preview = await run_in_threadpool(store.preview, doc_id)
    except InputError as exc:
        preview, error = None, str(exc)
    else:
        error = None
    return page(request, "document.html", {
        "title": doc.name, "section": "documents", "operator": operator, "doc": doc,
        "preview": preview, "error": error})


@router.post("/admin/documents/{doc_id}/replace")
async def document_replace(request: Request, doc_id: int, operator: CheckedEditor,
                           file: Annotated[UploadFile, File()]) -> Response:
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    try:
        await run_in_threadpool(documents_of(request).replace, doc_id,
                                file.filename or "file", data, operator.username)
    except InputError as exc:
        return await run_in_threadpool(documents_page, request, operator,
                                       [{"name": file.filename, "ok": False,
                                         "message": str(exc)}], 422)
    await run_in_threadpool(jobs_of(request).enqueue, operator.username)
    return RedirectResponse("/admin/documents", 303)


@router.post("/admin/documents/{doc_id}/delete")
async def document_delete(request: Request, doc_id: int, operator: CheckedEditor) -> Response:
    return await _change(request, operator, 404, documents_of(request).remove, doc_id)


@router.post("/admin/reindex")
async def reindex(request: Request, operator: CheckedEditor) -> Response:
    return await _change(request, operator, 409, None)


@router.post("/admin/jobs/{job_id}/retry")
async def retry(request: Request, job_id: int, operator: CheckedEditor) -> Response:
    return await _change(request, operator, 409, jobs_of(request).retry, job_id, build=False)


async def _change(request: Request, operator: OperatorSession, refused: int, call, *args,
                  build: bool = True) -> Response:
    await apply_change(request, operator, call, *args, refused=refused, build=build)
    return RedirectResponse("/admin/documents", 303)


@router.get("/admin/audit")
async def audit_trail(request: Request, operator: Editor) -> Response:
    rows = await run_in_threadpool(office_of(request).audit.recent, 300)
    return page(request, "audit.html", {"title": "Audit", "section": "audit",
                                        "operator": operator, "rows": rows})
