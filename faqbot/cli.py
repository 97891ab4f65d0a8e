"""`faqbot` command line: index, ask, chat, eval, serve, and the back office's commands
(log, admin, apikey, docs, worker). A thin layer over `Bot` and the back office."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.config import Settings
from bot.errors import BotError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Bilingual medical FAQ bot that answers by quoting its sources.")

CorpusOpt = Annotated[Path | None, typer.Option("--corpus", help="Corpus directory "
                                                "[env FAQBOT_CORPUS_DIR, default corpus/]")]
IndexOpt = Annotated[Path | None, typer.Option("--index", help="Index directory "
                                               "[env FAQBOT_INDEX_DIR, default index/]")]
ModelOpt = Annotated[str | None, typer.Option("--model", help="Embedding model "
                                              "[env FAQBOT_EMBEDDING_MODEL]")]


def _settings(corpus: Path | None, index: Path | None, model: str | None = None) -> Settings:
    overrides = {k: v for k, v in (("corpus_dir", corpus), ("index_dir", index),
                                   ("embedding_model", model)) if v is not None}
    return Settings().model_copy(update=overrides)


def _office(settings: Settings):
    """The back office the settings name (its database opened and migrated)."""
    from backoffice.office import BackOffice

    try:
        return BackOffice.open(settings)
    except BotError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


def _load_bot(settings: Settings):
    from bot.core import Bot

    try:
        return Bot.load(settings=settings)
    except BotError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


@app.command()
def index(corpus: CorpusOpt = None, index: IndexOpt = None, model: ModelOpt = None,
          if_stale: Annotated[bool, typer.Option(
              "--if-stale", help="Only when the index is missing or stale (what `serve` "
              "checks), from the corpus it was built from unless --corpus is given")] = False
          ) -> None:
    """Build (or rebuild) the index from the corpus; unchanged texts reuse cached vectors."""
    from bot.builder import build_here

    if if_stale:
        from bot.core import Bot

        try:
            Bot.prepare(index, corpus, _settings(None, None, model))
        except BotError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        return
    settings = _settings(corpus, index, model)
    try:
        manifest = build_here(settings)
    except BotError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    for warning in manifest.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"indexed {manifest.documents} documents, {manifest.chunks} chunks "
               f"({manifest.embedded_now} newly embedded) in {manifest.build_seconds}s "
               f"-> {settings.index_dir}")


@app.command()
def ask(question: str, as_json: Annotated[bool, typer.Option("--json")] = False,
        explain: Annotated[bool, typer.Option(
            "--explain", help="Show the candidate passages, their signals and confidence, "
            "the threshold and the path taken.")] = False,
        corpus: CorpusOpt = None, index: IndexOpt = None) -> None:
    """Ask one question and print the reply (or, with --explain, why)."""
    bot = _load_bot(_settings(corpus, index))
    try:
        if explain:
            explained = bot.explain(question)
            typer.echo(explained.model_dump_json(indent=2) if as_json else explained.as_text())
            return
        reply = bot.ask(question)
    except BotError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(reply.model_dump_json(indent=2) if as_json else reply.text)


@app.command()
def chat(corpus: CorpusOpt = None, index: IndexOpt = None) -> None:
    """Interactive conversation (follow-up questions keep their context). Ctrl-D ends."""
    bot = _load_bot(_settings(corpus, index))
    session_id = None
    typer.echo("faqbot — ask about low back pain, disc herniation, spinal tumours, "
               "meningioma (Ctrl-D to quit)")
    while True:
        try:
            message = input("\n> ")
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            return
        if not message.strip():
            continue
        try:
            reply = bot.ask(message, session_id)
        except BotError as exc:
            typer.echo(f"error: {exc}")
            continue
        session_id = reply.session_id
        typer.echo(reply.text)


@app.command("eval")
def evaluate(questions: Path, corpus: CorpusOpt = None, index: IndexOpt = None,
             as_json: Annotated[bool, typer.Option("--json")] = False,
             show_failures: Annotated[bool, typer.Option("--failures")] = False) -> None:
    """Run an evaluation file (shared/eval format); print the pass rate per expectation
    and language."""
    from bot.evaluation import evaluate_file

    bot = _load_bot(_settings(corpus, index))
    try:
        report = evaluate_file(bot, questions)
    except BotError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(report.table())
        if show_failures:
            for result in report.results:
                if not result.passed:
                    typer.echo(f"FAIL {result.id} ({result.expect}/{result.lang}): {result.why}")
    if report.passed < report.total:
        raise typer.Exit(3)


@app.command()
def serve(host: Annotated[str, typer.Option(envvar="FAQBOT_HOST")] = "127.0.0.1",
          port: Annotated[int, typer.Option(envvar="FAQBOT_PORT")] = 8000,
          workers: Annotated[int, typer.Option(
              min=1, envvar="FAQBOT_WORKERS", help="Worker processes; with more than one, "
              "set FAQBOT_REDIS_URL so they share conversations")] = 1,
          corpus: CorpusOpt = None, index: IndexOpt = None) -> None:
    """Serve the widget, demo site and HTTP API. The port answers at once (/api/health;
    /api/ready once the bot is loaded); the index is built first when it is missing or
    stale, or, with FAQBOT_BUILDS=shared, fetched from the database."""
    import os

    import uvicorn

    from web.app import UVICORN_OPTIONS, create_app

    settings = _settings(corpus, index)
    _configure_access_log()
    if workers == 1:  # the bot loads in the background: /api/health answers at once
        served = create_app(settings, exit_on_start_failure=True)
        uvicorn.run(served, host=host, port=port, log_level="info", **UVICORN_OPTIONS)
        if served.state.start_error:
            typer.echo(f"error: {served.state.start_error}", err=True)
            raise typer.Exit(1)
        return
    if not settings.redis_url:
        typer.echo("warning: several workers without FAQBOT_REDIS_URL do not share "
                   "conversations", err=True)
    # The index is built once, before the workers start, by a child process: this one only
    # supervises the workers, and holds nothing of the bot.
    import subprocess

    if settings.builds == "local":  # (shared builds are fetched by the workers)
        checked = subprocess.run([sys.executable, "-m", "faqbot", "index", "--if-stale",
                                  *(["--corpus", str(corpus)] if corpus else []),
                                  "--index", str(settings.index_dir)])
        if checked.returncode != 0:
            raise typer.Exit(1)
    os.environ["FAQBOT_INDEX_DIR"] = str(settings.index_dir)
    if corpus:
        os.environ["FAQBOT_CORPUS_DIR"] = str(corpus)
    import shutil
    import tempfile

    from uvicorn.supervisors import Multiprocess

    from web.app import tcp_listener

    # The workers count into one folder, so /metrics reports the server's totals whichever
    # worker answers (prometheus-client's multiprocess mode); a new one for every start.
    counts = tempfile.mkdtemp(prefix="faqbot-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = counts
    config = uvicorn.Config("web.app:serving_app", factory=True, workers=workers, host=host,
                            port=port, log_level="info", **UVICORN_OPTIONS)
    try:
        Multiprocess(config, sockets=[tcp_listener(config)]).run()
    finally:
        shutil.rmtree(counts, ignore_errors=True)


log_app = typer.Typer(no_args_is_help=True, help="The conversation log.")
app.add_typer(log_app, name="log")


@log_app.command("purge")
def log_purge(days: Annotated[int | None, typer.Option(
        min=1, help="Keep this many days [env FAQBOT_RETENTION_DAYS, default 365]")] = None,
        index: IndexOpt = None) -> None:
    """Delete logged exchanges (and their ratings) older than the retention period; run it
    daily, e.g. from cron."""
    settings = _settings(None, index)
    try:
        removed = _office(settings).conversations.purge(days or settings.retention_days)
    except BotError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"removed {removed} exchanges older than {days or settings.retention_days} days")


admin_app = typer.Typer(no_args_is_help=True, help="Operator accounts for the console.")
app.add_typer(admin_app, name="admin")


@admin_app.command("create-user")
def admin_create_user(username: str, index: IndexOpt = None,
                      password: Annotated[str, typer.Option(
                          prompt=True, hide_input=True, confirmation_prompt=True,
                          help="At least 10 characters (asked for when not given)")] = "",
                      reset: Annotated[bool, typer.Option(
                          "--reset", help="Set a new password for an existing operator")
                      ] = False,
                      role: Annotated[str, typer.Option(
                          help="admin (users, everything), editor (documents, curated "
                          "answers, phrasings, synonyms, batch tests) or reviewer "
                          "(conversations, review, test screen)")] = "admin") -> None:
    """Create an operator who can log in to /admin (or --reset a password)."""
    try:
        store = _office(_settings(None, index)).operators
        if reset:
            store.set_password(username, password)
        else:
            store.create_user(username, password, role)
    except BotError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"operator {username!r} " + ("updated" if reset else f"created ({role})"))


apikey_app = typer.Typer(no_args_is_help=True, help="API keys for servers that call the "
                         "HTTP API (the console's API keys page does the same).")
app.add_typer(apikey_app, name="apikey")


def _api_keys(index: Path | None):
    return _office(_settings(None, index)).api_keys


@apikey_app.command("create")
def apikey_create(name: Annotated[str, typer.Argument(help="Who uses the key")],
                  rate: Annotated[int, typer.Option(
                      help="Requests a minute this key may make")] = 600,
                  user: Annotated[str, typer.Option(help="Recorded in the audit trail")] = "cli",
                  index: IndexOpt = None) -> None:
    """Create a key; it is printed once (the database keeps its hash)."""
    try:
        key, secret = _api_keys(index).create(name, rate, user)
    except BotError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"API key #{key.id} for {key.name} ({key.rate_per_minute}/min): {secret}")


@apikey_app.command("list")
def apikey_list(index: IndexOpt = None) -> None:
    """Keys: id, status, rate, last use, name (never the key)."""
    for key in _api_keys(index).list():
        used = key.last_used_at.strftime("%Y-%m-%d %H:%M") if key.last_used_at else "never"
        typer.echo(f"#{key.id}\t{'active' if key.active else 'revoked'}\t"
                   f"{key.rate_per_minute}/min\tlast used {used}\tfbk_{key.prefix}_…\t"
                   f"{key.name}")


@apikey_app.command("revoke")
def apikey_revoke(key_id: int, user: Annotated[str, typer.Option()] = "cli",
                  index: IndexOpt = None) -> None:
    """Revoke a key: refused everywhere within a few seconds."""
    try:
        key = _api_keys(index).revoke(key_id, user)
    except BotError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"revoked #{key.id} {key.name}")


docs_app = typer.Typer(no_args_is_help=True, help="Documents uploaded to the knowledge base "
                       "(kept in the database; the console's Documents page does the same).")
app.add_typer(docs_app, name="docs")


def _knowledge(corpus: Path | None, index: Path | None):
    settings = _settings(corpus, index)
    office = _office(settings)
    return settings, office.documents, office.jobs


@docs_app.command("add")
def docs_add(files: Annotated[list[Path], typer.Argument(help="PDF, Word, Excel or text "
                                                           "files")],
             user: Annotated[str, typer.Option(help="Recorded as the uploader")] = "cli",
             build: Annotated[bool, typer.Option(
                 "--build", help="Build the index now, in this process (else a running "
                 "server's worker or `faqbot worker` does)")] = False,
             corpus: CorpusOpt = None, index: IndexOpt = None) -> None:
    """Add documents; each is read now, and one that cannot be used is reported while the
    others go in."""
    settings, documents, queue = _knowledge(corpus, index)
    added = 0
    for path in files:
        try:
            doc = documents.add(path.name, path.read_bytes(), user)
        except (BotError, OSError) as exc:
            typer.echo(f"refused {path}: {exc}", err=True)
            continue
        added += 1
        typer.echo(f"#{doc.id} {doc.name}: {doc.format}, {doc.lang}, ~{doc.passages} "
                   f"passages, queued")
    if added:
        job = queue.enqueue(user)
        typer.echo(f"build job #{job.id} queued")
        if build:
            _run_jobs(settings, once=True)
    if added < len(files):
        raise typer.Exit(2)


@docs_app.command("list")
def docs_list(corpus: CorpusOpt = None, index: IndexOpt = None) -> None:
    """Documents with their status."""
    _, documents, queue = _knowledge(corpus, index)
    for doc in documents.list():
        error = f" ({doc.error})" if doc.error else ""
        typer.echo(f"#{doc.id}\t{doc.status}{error}\t{doc.format}\t{doc.lang}\t"
                   f"{doc.passages}\t{doc.name}\t{doc.uploaded_by}")
    active = queue.active()
    if active is not None:
        typer.echo(f"job #{active.id}: {active.status}, {active.progress}")


@docs_app.command("remove")
def docs_remove(doc_id: int, user: Annotated[str, typer.Option()] = "cli",
                corpus: CorpusOpt = None, index: IndexOpt = None) -> None:
    """Delete a document; its passages leave the index with the next build (queued)."""
    _, documents, queue = _knowledge(corpus, index)
    try:
        gone = documents.remove(doc_id, user)
    except BotError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    job = queue.enqueue(user)
    typer.echo(f"removed #{gone.id} {gone.name}; build job #{job.id} queued")


@app.command()
def worker(once: Annotated[bool, typer.Option("--once", help="Run the queued jobs, then "
                                              "stop")] = False,
           corpus: CorpusOpt = None, index: IndexOpt = None) -> None:
    """Run indexing jobs (uploads, re-index) in this process, one build at a time; set
    FAQBOT_WORKER=off on the servers so they leave the jobs to it."""
    _run_jobs(_settings(corpus, index), once)


def _run_jobs(settings: Settings, once: bool) -> None:
    from backoffice.house import open_house
    from backoffice.worker import IndexWorker

    try:
        house = open_house(settings, builds_here=True)
    except BotError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    runner = IndexWorker(house.bot, house.office)
    if not once:
        typer.echo(f"worker {runner.name}: waiting for jobs")
        runner.run_forever()
        return
    while (job := runner.run_once()) is not None:
        typer.echo(f"job #{job.id}: {job.status}" + (f" ({job.error})" if job.error else ""))


def _configure_access_log() -> None:
    """Access lines are JSON already: print them as they are."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    access = logging.getLogger("faqbot.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
