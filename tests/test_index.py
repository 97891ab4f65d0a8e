"""Index persistence, staleness, incremental and atomic rebuilds, the approximate option."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from bot import index as index_module
from bot.errors import IndexStoreError
from bot.index import build_index, built_from, current_path, is_stale, load_index, read_manifest
from tests.conftest import SEED_CORPUS


def small_corpus(path):
    path.mkdir(exist_ok=True)
    (path / "faq.jsonl").write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in [
        {"id": "a", "question": "腰痛怎么办？", "answer": "急性腰痛应适度活动，避免久坐。"},
        {"id": "b", "question": "What is sciatica?", "answer": "Pain along the sciatic nerve."},
    ]) + "\n", "utf-8")
    return path


def test_build_persists_a_manifest_and_loads(make_settings, embedder, tmp_path):
    settings = make_settings(small_corpus(tmp_path / "corpus"))
    manifest = build_index(settings.corpus_dir, settings.index_dir, embedder,
                           cache_path=settings.embedding_cache_path())
    assert manifest.model_id == embedder.model_id and manifest.dim == 384
    assert manifest.documents == 2 and manifest.chunks == 2 and manifest.vectors == 4
    assert read_manifest(settings.index_dir) == manifest
    loaded = load_index(settings.index_dir)
    assert [c.doc_id for c in loaded.chunks] == ["a", "b"]
    assert loaded.vectors.ntotal == 4
    assert not is_stale(settings.index_dir, settings.corpus_dir, embedder.model_id, "flat")


def test_stale_when_corpus_or_model_changes(make_settings, embedder, tmp_path):
    settings = make_settings(small_corpus(tmp_path / "corpus"))
    build_index(settings.corpus_dir, settings.index_dir, embedder,
                cache_path=settings.embedding_cache_path())
    assert is_stale(settings.index_dir, settings.corpus_dir, "other-model", "flat")
    assert is_stale(settings.index_dir, settings.corpus_dir, embedder.model_id, "hnsw")
    (settings.corpus_dir / "new.md").write_text("# 新文章\n\n腰椎间盘突出的预防。", "utf-8")
    assert is_stale(settings.index_dir, settings.corpus_dir, embedder.model_id, "flat")


def test_rebuild_embeds_only_new_chunks(make_settings, embedder, tmp_path, cache_dir):
    settings = make_settings(small_corpus(tmp_path / "corpus"))
    cache = cache_dir / f"{tmp_path.name}.sqlite"  # a fresh cache (beside the shared vocabulary)
    cache.unlink(missing_ok=True)  # TEST_EMBEDDING_CACHE keeps the folder between runs
    first = build_index(settings.corpus_dir, settings.index_dir, embedder, cache_path=cache)
    assert first.embedded_now == 4
    with open(settings.corpus_dir / "faq.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"id": "c", "question": "脑膜瘤是良性的吗？",
                            "answer": "脑膜瘤大多良性。"}, ensure_ascii=False) + "\n")
    second = build_index(settings.corpus_dir, settings.index_dir, embedder, cache_path=cache)
    assert second.chunks == 3 and second.embedded_now == 2  # question + question/answer


def test_crash_mid_build_leaves_the_old_index_usable(make_settings, embedder, tmp_path,
                                                     monkeypatch):
    settings = make_settings(small_corpus(tmp_path / "corpus"))
    build_index(settings.corpus_dir, settings.index_dir, embedder,
                cache_path=settings.embedding_cache_path())
    before = current_path(settings.index_dir).resolve()
    (settings.corpus_dir / "more.md").write_text("# 新\n\n新的内容段落，用来触发重建。", "utf-8")

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(index_module, "_write_keywords", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        build_index(settings.corpus_dir, settings.index_dir, embedder,
                    cache_path=settings.embedding_cache_path())
    assert current_path(settings.index_dir).resolve() == before
    assert [c.doc_id for c in load_index(settings.index_dir).chunks] == ["a", "b"]
    monkeypatch.undo()
    build_index(settings.corpus_dir, settings.index_dir, embedder,
                cache_path=settings.embedding_cache_path())  # leftovers cleaned, build works
    assert len(load_index(settings.index_dir).chunks) == 3
    assert not list((settings.index_dir / "builds").glob(".tmp-*"))


def test_missing_or_corrupt_index_is_a_clear_error(tmp_path, make_settings, embedder):
    with pytest.raises(IndexStoreError, match="no built index"):
        load_index(tmp_path / "nothing")
    settings = make_settings(small_corpus(tmp_path / "corpus"))
    build_index(settings.corpus_dir, settings.index_dir, embedder,
                cache_path=settings.embedding_cache_path())
    (current_path(settings.index_dir) / "vectors.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexStoreError, match="unreadable"):
        load_index(settings.index_dir)


def test_empty_corpus_is_refused(make_settings, embedder):
    settings = make_settings()
    with pytest.raises(IndexStoreError, match="no indexable content"):
        build_index(settings.corpus_dir, settings.index_dir, embedder)


def test_hnsw_matches_exact_search(make_settings, embedder, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEED_CORPUS, corpus)
    settings = make_settings(corpus)
    build_index(corpus, settings.index_dir, embedder, "flat",
                cache_path=settings.embedding_cache_path())
    exact = load_index(settings.index_dir)
    approx_dir = tmp_path / "hnsw"
    build_index(corpus, approx_dir, embedder, "hnsw", cache_path=settings.embedding_cache_path())
    approx = load_index(approx_dir)
    queries = embedder.embed_queries(["腰痛怎么治疗", "spinal tumor symptoms", "脑膜瘤随访"])
    for q in queries:
        _, exact_ids = exact.vectors.search(q[None], 5)
        _, approx_ids = approx.vectors.search(q[None], 5)
        assert len(np.intersect1d(exact_ids, approx_ids)) >= 4  # brute force is the oracle


def test_an_index_remembers_its_corpus_and_is_served_as_built(make_settings, embedder, tmp_path):
    from bot.config import Settings
    from bot.core import Bot
    from bot.index import built_from

    settings = make_settings(small_corpus(tmp_path / "corpus"))
    build_index(settings.corpus_dir, settings.index_dir, embedder,
                cache_path=settings.embedding_cache_path())
    assert built_from(settings.index_dir) == settings.corpus_dir.resolve()
    built = read_manifest(settings.index_dir)
    # No corpus given: the index is served as it is, never rebuilt from the default corpus.
    bot = Bot.load(settings=Settings(index_dir=settings.index_dir,
                                     cache_dir=settings.cache_dir), embedder=embedder)
    assert [c.doc_id for c in bot.retriever.index.chunks] == ["a", "b"]
    assert read_manifest(settings.index_dir) == built
    # Its own corpus changed: rebuilt from that corpus.
    with open(settings.corpus_dir / "faq.jsonl", "a", encoding="utf-8") as out:
        out.write(json.dumps({"id": "c", "question": "背痛?", "answer": "多休息。"},
                             ensure_ascii=False) + "\n")
    bot = Bot.load(settings=Settings(index_dir=settings.index_dir,
                                     cache_dir=settings.cache_dir), embedder=embedder)
    assert [c.doc_id for c in bot.retriever.index.chunks] == ["a", "b", "c"]
    # Its corpus gone: still served as it is.
    shutil.rmtree(settings.corpus_dir)
    bot = Bot.load(settings=Settings(index_dir=settings.index_dir,
                                     cache_dir=settings.cache_dir), embedder=embedder)
    assert len(bot.retriever.index.chunks) == 3


def test_indexing_one_corpus_leaves_another_index_alone(make_settings, embedder, tmp_path):
    first = make_settings(small_corpus(tmp_path / "one"))
    build_index(first.corpus_dir, first.index_dir, embedder,
                cache_path=first.embedding_cache_path())
    before = read_manifest(first.index_dir)
    other_corpus = small_corpus(tmp_path / "two")
    build_index(other_corpus, tmp_path / "index-two", embedder,
                cache_path=first.embedding_cache_path())
    assert read_manifest(first.index_dir) == before
    assert built_from(tmp_path / "index-two") == other_corpus.resolve()
    assert sorted(p.name for p in tmp_path.glob("general-vocabulary*")) == []


def test_builds_run_in_a_child_process_and_torch_never_enters_the_server(tmp_path, cache_dir):
    """A server that builds (first start, then a reindex with enough new texts for the
    torch engine) keeps torch out of its own memory; the build's progress reaches it."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    corpus = tmp_path / "corpus"
    shutil.copytree(root / "corpus", corpus)
    script = f"""
import sys
from pathlib import Path
from bot.config import Settings
from bot.core import Bot
settings = Settings(corpus_dir=Path({str(corpus)!r}), index_dir=Path({str(tmp_path / 'ix')!r}),
                    cache_dir=Path({str(cache_dir)!r}))
bot = Bot.load(settings=settings)
(settings.corpus_dir / "more.jsonl").write_text("".join(
    '{{"question": "Exercise %d for the back?", "answer": "Do exercise %d slowly."}}\\n' % (i, i)
    for i in range(60)))
stages = []
bot.reindex(lambda stage, done, total: stages.append(stage))
print("torch" in sys.modules, sorted(set(stages)), bot.ask("Exercise 7 for the back?").kind)
"""
    run = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == \
        "False ['embedding', 'reading', 'writing'] answer"


def test_a_failing_build_in_the_child_says_why_and_leaves_no_index(tmp_path, cache_dir):
    """The child (`python -m bot.builder`) gets only the build's settings; when it fails,
    the parent's error carries the child's own words."""
    from bot.builder import build_in_child
    from bot.config import Settings

    settings = Settings(corpus_dir=tmp_path / "no-such-corpus", index_dir=tmp_path / "ix",
                        cache_dir=cache_dir)
    with pytest.raises(IndexStoreError, match="the index build failed: error: .*no-such-corpus"):
        build_in_child(settings)
    assert read_manifest(tmp_path / "ix") is None
