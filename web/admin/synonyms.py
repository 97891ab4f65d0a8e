"""Synonym groups in the console (editors): add, edit, remove, import and export as CSV;
each change is live after the build it queues."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from backoffice.synonym_store import MAX_CSV_BYTES, SynonymStore
from web.admin.common import CheckedEditor, Editor, apply_change, csv_download, page
from web.deps import office_of

router = APIRouter(include_in_schema=False)


def synonyms_of(request: Request) -> SynonymStore:
    return office_of(request).synonyms


@router.get("/admin/synonyms")
async def synonyms_page(request: Request, operator: Editor) -> Response:
    groups = await run_in_threadpool(synonyms_of(request).groups)
    imported = request.query_params.get("imported", "")
    return page(request, "synonyms.html", {
        "title": "Synonyms", "section": "synonyms", "operator": operator, "groups": groups,
        "imported": int(imported) if imported.isdigit() else None})


@router.post("/admin/synonyms")
async def synonyms_add(request: Request, operator: CheckedEditor,
                       members: Annotated[str, Form(max_length=2000)]) -> Response:
    await apply_change(request, operator, synonyms_of(request).add, members)
    return RedirectResponse("/admin/synonyms", 303)


@router.post("/admin/synonyms/import")
async def synonyms_import(request: Request, operator: CheckedEditor,
                          file: Annotated[UploadFile, File()]) -> Response:
    data = await file.read(MAX_CSV_BYTES + 1)
    added = await apply_change(request, operator, synonyms_of(request).import_csv, data)
    return RedirectResponse(f"/admin/synonyms?imported={added}", 303)


@router.get("/admin/synonyms.csv")
async def synonyms_export(request: Request, operator: Editor) -> Response:
    body = await run_in_threadpool(synonyms_of(request).to_csv)
    return csv_download(body, "synonyms.csv")


@router.post("/admin/synonyms/{group_id}")
async def synonyms_edit(request: Request, group_id: int, operator: CheckedEditor,
                        members: Annotated[str, Form(max_length=2000)]) -> Response:
    await apply_change(request, operator, synonyms_of(request).edit, group_id, members,
                       refused=422)
    return RedirectResponse("/admin/synonyms", 303)


@router.post("/admin/synonyms/{group_id}/delete")
async def synonyms_delete(request: Request, group_id: int, operator: CheckedEditor
                          ) -> Response:
    await apply_change(request, operator, synonyms_of(request).remove, group_id, refused=404)
    return RedirectResponse("/admin/synonyms", 303)
