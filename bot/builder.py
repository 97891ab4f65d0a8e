"""Index builds in a child process that exits: the build's memory (torch and its batches,
the whole corpus's texts) is never the serving process's, and is all returned to the
system when the build ends. The child is `faqbot index --progress`; it reports each stage
on its standard output and stops if its parent does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import deque

from bot.config import Settings
from bot.errors import IndexStoreError
from bot.index import Manifest, Progress, read_manifest

PROGRESS_PREFIX = "PROGRESS "


def build_in_child(settings: Settings, progress: Progress | None = None) -> Manifest:
    """Build `settings.corpus_dir` into `settings.index_dir` in a child process; the new
    manifest. IndexStoreError with the child's last words if it fails."""
    env = dict(os.environ, FAQBOT_CORPUS_DIR=str(settings.corpus_dir),
               FAQBOT_INDEX_DIR=str(settings.index_dir),
               FAQBOT_EMBEDDING_MODEL=settings.embedding_model,
               FAQBOT_VECTOR_INDEX=settings.vector_index)
    for name, path in (("FAQBOT_CACHE_DIR", settings.cache_dir),
                       ("FAQBOT_MODEL_DIR", settings.model_dir)):
        if path is not None:
            env[name] = str(path)
    child = subprocess.Popen([sys.executable, "-m", "bot.cli", "index", "--progress"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, encoding="utf-8")
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
