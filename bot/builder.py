"""Index builds in a child process that exits: the build's memory (torch and its batches,
the whole corpus's texts) is never the serving process's, and is all returned to the
system when the build ends. The child is `python -m bot.builder SETTINGS` (the build's
settings as one JSON argument); it reports each stage on its standard output and stops if
its parent does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import deque

from bot.config import Settings
from bot.errors import BotError, IndexStoreError
from bot.index import Manifest, Progress, build_index, read_manifest

PROGRESS_PREFIX = "PROGRESS "
# What a build depends on: the child gets these and nothing else (no secrets on a command
# line).
BUILD_SETTINGS = {"corpus_dir", "index_dir", "cache_dir", "model_dir", "embedding_model",
                  "embed_threads", "vector_index"}


def build_in_child(settings: Settings, progress: Progress | None = None) -> Manifest:
    """Build `settings.corpus_dir` into `settings.index_dir` in a child process; the new
    manifest. IndexStoreError with the child's last words if it fails."""
    child = subprocess.Popen(
        [sys.executable, "-m", "bot.builder", settings.model_dump_json(include=BUILD_SETTINGS)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
    errors: deque[str] = deque(maxlen=20)
    assert child.stdout is not None and child.stderr is not None
    for line in child.stdout:
        if line.startswith(PROGRESS_PREFIX) and progress is not None:
            try:
                stage, done, total = json.loads(line[len(PROGRESS_PREFIX):])
            except ValueError:
                continue
            progress(stage, int(done), int(total))
    errors.extend(child.stderr.read().splitlines())
    if child.wait() != 0:
        said = " ".join(line for line in errors if line.startswith("error:")) or \
            (errors[-1] if errors else f"exit code {child.returncode}")
        raise IndexStoreError(f"the index build failed: {said}")
    manifest = read_manifest(settings.index_dir)
    if manifest is None:
        raise IndexStoreError(f"the index build left no index in {settings.index_dir}")
    return manifest


def _progress_lines() -> Progress:
    """The child's progress: a line per stage on standard output, and an end to the build
    if the parent goes away (an orphan must not swap in an index behind the back of
    whoever took the job over)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(3)

    threading.Thread(target=watch, daemon=True).start()

    def report(stage: str, done: int, total: int) -> None:
        print(PROGRESS_PREFIX + json.dumps([stage, done, total]), flush=True)

    return report


def build_here(settings: Settings, progress: Progress | None = None) -> Manifest:
    """Build the index the settings describe in this process (`faqbot index`, the child)."""
    from bot.embedding import make_embedder

    embedder = make_embedder(settings.embedding_model, settings.embed_threads,
                             settings.model_dir)
    return build_index(settings.corpus_dir, settings.index_dir, embedder,
                       settings.vector_index, settings.embedding_cache_path(), progress)


def main(argv: list[str]) -> int:
    """The child: build the index that the settings in argv[0] (JSON) describe."""
    settings = Settings.model_validate_json(argv[0])
    try:
        build_here(settings, _progress_lines())
    except BotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
