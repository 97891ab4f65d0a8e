"""Learn the answer path's ranker and its answer/decline decision (bot/decision.py) from real
patients' questions, and write them to bot/data/answer_model.json.

Three parts kept apart:
- **training**: the Chinese patient queries of zh-medical-dialogue's train_queries.jsonl
  (6,838, over its 7,644 entries; none is a dev or held-out query), MeQSum's English patient
  messages (over the 983 plain questions they ask, as a Q&A corpus), MedQuAD questions
  reworded as visitors ask (over its 16,407 entries; not the 300 bench/medquad.py reports),
  and our own questions about the seed corpus (bench/data/own_questions.jsonl,
  bench/data/patient/set_a.jsonl): 85% of each, fixed by id;
- **tune**: the other 15% of each and the seed dev questions' 'tune' half
  (bench/common.split_of): the threshold is chosen here;
- **report**: never read here (bench/seed_eval.py: the dev 'report' half, our held-out
  questions and the second writer's set; bench/zh_retrieval.py: the 400 dev queries;
  bench/medquad.py: its 300 questions).

Every dataset question counts twice: with its entry among the candidates (answerable), and
with every entry of its title taken out (not answerable; entries on the same condition
remain: the hard negatives). Our seed questions that expect a fallback are negatives.
The ranker is fitted listwise (per question, a softmax over its candidates; L2); the
decision is a logistic regression on the question's signals given the ranker's order
(label: the first candidate answers), each source weighted so no dataset drowns the seed
corpus. The threshold maximises balanced accuracy on the tune part among those at which
at least 90% of our seed questions that expect a fallback are declined.

Usage: python bench/calibrate.py [--reuse | --refresh-seed] [--curve] [--no-write]
"""

from __future__ import annotations

import argparse
import csv
import json
import pickle
import random
import zlib
from dataclasses import dataclass, field

import numpy as np
from common import (
    CACHE,
    ROOT,
    SHARED,
    corpus_retriever,
    patient_corpus,
    report,
    seed_bot,
    split_of,
)
from scipy.optimize import minimize

from bot.cleaning import normalize_text
from bot.decision import (
    DECIDE_FEATURES,
    MODEL_PATH,
    RANK_FEATURES,
    AnswerModel,
    load_model,
    question_features,
    relative,
)
from bot.ranking import assess

# How much each source weighs in both fits (shares of the total; each question of a source
# weighs the same).
SHARES = {"seed": 0.45, "zh": 0.3, "meqsum": 0.15, "medquad": 0.1}
SEED_FILES = ("own_questions.jsonl", "patient/set_a.jsonl", "patient/set_c.jsonl")


@dataclass
class Group:
    """One question's candidates, as the bot saw them (signals before the ranker)."""

    source: str
    part: str  # train / tune
    lang: str
    features: list[dict[str, float]]
    langs: list[str]
    sections: list[int]
    gold: np.ndarray  # per candidate: does it answer?
    topic_terms: int
    kind: str = ""
    extra: dict = field(default_factory=dict)


def part_of(key: str) -> str:
    return "tune" if zlib.crc32(key.encode()) % 100 < 15 else "train"


def candidates_group(assessment, retriever, source, part, lang, gold, kind="") -> Group:
    cands = assessment.candidates
    return Group(source, part, lang, [dict(c.features) for c in cands],
                 [c.hit.chunk.lang for c in cands],
                 [retriever.index.section_of[c.hit.chunk_position] for c in cands],
                 np.array([gold(c) for c in cands], dtype=bool),
                 int(sum(not q.term.intent for q in assessment.terms)), kind)


def without_answer(group: Group) -> Group:
    """The same question with its answer taken out of the index (its candidates)."""
    keep = ~group.gold
    return Group(group.source, group.part, group.lang,
                 [f for f, k in zip(group.features, keep, strict=True) if k],
                 [x for x, k in zip(group.langs, keep, strict=True) if k],
                 [x for x, k in zip(group.sections, keep, strict=True) if k],
                 np.zeros(int(keep.sum()), dtype=bool), group.topic_terms, "removed")


def dataset_groups(name: str, retriever, queries: list[tuple[str, str, str]], lang: str,
                   same) -> list[Group]:
    """(key, query, gold) triples over a dataset's own index; each also without its answer."""
    out = []
    for n, (key, query, gold) in enumerate(queries):
        group = candidates_group(assess(retriever, query, lang), retriever, name, part_of(key),
                                 lang, lambda c, gold=gold: same(c, gold))
        out.append(group)
        if group.gold.any():
            out.append(without_answer(group))
        if n % 1000 == 0:
            print(f"  {name}: {n}/{len(queries)}", flush=True)
    return out


def zh_groups() -> list[Group]:
    retriever = corpus_retriever(patient_corpus(CACHE / "zh-corpus"), CACHE / "zh-index")
    titles = {c.doc_id: c.title for c in retriever.index.chunks}
    rows = [json.loads(line) for line in (SHARED / "datasets" / "zh-medical-dialogue" /
                                          "train_queries.jsonl").read_text("utf-8").splitlines()]
    queries = [(f"zh{i}", r["query"], normalize_text(r["gold_title"])) for i, r in
               enumerate(rows)]
    return dataset_groups("zh", retriever, queries, "zh",
                          lambda c, gold: titles[c.hit.chunk.doc_id] == gold)


def qa_corpus(folder, rows: list[tuple[str, str]]):
    """A Q&A corpus (one CSV: title, answer) in `folder`, made once."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "entries.csv"
    if not path.exists():
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "title", "answer"])
            for i, (title, answer) in enumerate(rows):
                writer.writerow([f"e{i:05d}", title, answer])
    return folder


def meqsum_groups() -> list[Group]:
    rows = [json.loads(line) for line in (SHARED / "datasets" / "consumer-questions-en" /
                                          "meqsum.jsonl").read_text("utf-8").splitlines()]
    corpus = qa_corpus(CACHE / "meqsum-corpus", [(r["summary"], r["summary"]) for r in rows])
    retriever = corpus_retriever(corpus, CACHE / "meqsum-index")
    queries = [(r["id"], r["question"], normalize_text(r["summary"])) for r in rows]
    return dataset_groups("meqsum", retriever, queries, "en",
                          lambda c, gold: (c.hit.chunk.question or c.hit.chunk.title) == gold)


def medquad_groups(count: int) -> list[Group]:
    """Reworded MedQuAD questions over bench/medquad.py's index (built by that script)."""
    from medquad import reworded

    from bot.config import Settings
    from bot.core import Bot

    index_dir = CACHE / "medquad-index"
    if not (index_dir / "current").exists():
        print("  medquad: no index (run python bench/medquad.py first); skipped")
        return []
    bot = Bot.load(settings=Settings(corpus_dir=CACHE / "medquad-corpus", index_dir=index_dir),
                   build=False)
    chunks = bot.retriever.index.chunks
    random.seed(7)
    reported = set(random.sample(range(len(chunks)), min(300, len(chunks))))
    rng = random.Random(11)
    picked = [i for i in rng.sample(range(len(chunks)), count + 300) if i not in reported]
    queries = [(chunks[i].chunk_id, reworded(chunks[i].question or ""),
                (chunks[i].question or "", chunks[i].text[:200])) for i in picked[:count]]
    return dataset_groups("medquad", bot.retriever, queries, "en",
                          lambda c, gold: (c.hit.chunk.question, c.hit.chunk.text[:200]) == gold)


def seed_items() -> list[dict]:
    items = []
    for name in SEED_FILES:
        path = ROOT / "bench" / "data" / name
        if path.exists():
            items += [dict(json.loads(line), part=part_of(json.loads(line)["id"]))
                      for line in path.read_text("utf-8").splitlines() if line.strip()]
    for line in (SHARED / "eval" / "seed_dev_questions.jsonl").read_text("utf-8").splitlines():
        item = json.loads(line)
        if split_of(item["id"]) == "tune":
            items.append(dict(item, part="tune"))
    return [i for i in items if i["expect"] != "urgent"]


def seed_groups() -> list[Group]:
    bot = seed_bot()
    out = []
    for item in seed_items():
        query, assessment = bot.assessment_of(item.get("turns") or [item["question"]])
        wanted = item.get("any") or []
        # The candidates whose quote holds an expected string; else those whose chunk does
        # (the ranker picks the chunk; the quote within it is chosen apart).
        in_quote = any(any(w in c.quote for w in wanted) for c in assessment.candidates)
        group = candidates_group(
            assessment, bot.retriever, "seed", item["part"], query.lang,
            lambda c, wanted=wanted, in_quote=in_quote: any(
                w in (c.quote if in_quote else c.hit.chunk.text)
                for w in wanted),
            item.get("kind", item["expect"]))
        group.extra = {"id": item["id"], "expect": item["expect"]}
        out.append(group)
    return out


def collect(args) -> list[Group]:
    path = CACHE / "answer_groups.pkl"
    if (args.reuse or args.refresh_seed) and path.exists():
        groups = pickle.loads(path.read_bytes())  # our own cache
        if not args.refresh_seed:
            return groups
        groups = seed_groups() + [g for g in groups if g.source != "seed"]
    else:
        groups = seed_groups() + zh_groups() + meqsum_groups() + medquad_groups(args.medquad)
    path.write_bytes(pickle.dumps(groups))
    return groups


# ---------------------------------------------------------------- fitting

def weights_of(groups: list[Group]) -> np.ndarray:
    counts: dict[str, int] = {}
    for g in groups:
        counts[g.source] = counts.get(g.source, 0) + 1
    present = {s: SHARES[s] for s in counts}
    total = sum(present.values())
    return np.array([present[g.source] / total / counts[g.source] for g in groups]) * len(groups)


def matrix(group: Group) -> np.ndarray:
    feats = relative(group.features, group.langs, group.lang)
    return np.array([[f.get(n, 0.0) for n in RANK_FEATURES] for f in feats], dtype=np.float64)


def fit_ranker(groups: list[Group], l2: float) -> dict[str, float]:
    """Listwise logistic: per question, a softmax over its candidates; maximise the mass on
    the answering ones."""
    used = [g for g in groups if g.gold.any() and len(g.gold) > 1]
    xs = [matrix(g) for g in used]
    x = np.vstack(xs)
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / std
    gold = np.concatenate([g.gold for g in used])
    sizes = np.array([len(g.gold) for g in used])
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    owner = np.repeat(np.arange(len(used)), sizes)
    w_group = weights_of(used)

    def loss(w):
        s = z @ w
        smax = np.maximum.reduceat(s, starts)
        e = np.exp(s - smax[owner])
        total = np.add.reduceat(e, starts)
        good = np.add.reduceat(np.where(gold, e, 0.0), starts)
        value = -np.sum(w_group * (np.log(good) - np.log(total))) / len(used)
        p = e / total[owner]
        q = np.where(gold, e, 0.0) / good[owner]
        grad = z.T @ ((p - q) * w_group[owner]) / len(used)
        return value + l2 * w @ w, grad + 2 * l2 * w

    result = minimize(loss, np.zeros(z.shape[1]), jac=True, method="L-BFGS-B")
    w = result.x / std
    return {n: round(float(v), 4) for n, v in zip(RANK_FEATURES, w, strict=True)}


def ranked(group: Group, model: AnswerModel) -> tuple[dict[str, float], bool]:
    """The decision's inputs and whether the first candidate answers."""
    feats = relative(group.features, group.langs, group.lang)
    scores = [model.rank_score(f) for f in feats]
    order = sorted(range(len(feats)), key=lambda i: -scores[i])
    decided = question_features([feats[i] for i in order], [scores[i] for i in order],
                                [group.sections[i] for i in order], group.lang,
                                group.topic_terms)
    return decided, bool(order) and bool(group.gold[order[0]])


# The decision's weights that must not be negative (more of these makes an answer likelier,
# never less) or positive (a missing key term never helps): a model that agrees with what
# the signals mean holds on a corpus it never saw, where one fitted freely can lean on
# accidents of its training corpora.
NOT_NEGATIVE = ("score", "lead", "section_coverage", "passage_coverage", "sentence", "fused",
                "known", "agree", "intent", "dense_gap", "heading_cos")
NOT_POSITIVE = ("missing",)


def fit_decision(groups: list[Group], model: AnswerModel, c: float) -> AnswerModel:
    """Weighted logistic regression (L2 = 1/c) with the signs above, by L-BFGS-B."""
    rows = [ranked(g, model) for g in groups]
    keep = [i for i, (f, _) in enumerate(rows) if f]
    x = np.array([[rows[i][0][n] for n in DECIDE_FEATURES] for i in keep])
    y = np.array([rows[i][1] for i in keep], dtype=float)
    w = weights_of([groups[i] for i in keep])
    w = w / w.sum()
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / std

    def loss(params):
        coef, bias = params[:-1], params[-1]
        logits = z @ coef + bias
        p = 1 / (1 + np.exp(-np.clip(logits, -50, 50)))
        eps = 1e-12
        value = -np.sum(w * (y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)))
        g = w * (p - y)
        return (value + coef @ coef / (2 * c * len(y)),
                np.r_[z.T @ g + coef / (c * len(y)), g.sum()])

    bounds = [(0.0, None) if n in NOT_NEGATIVE else (None, 0.0) if n in NOT_POSITIVE
              else (None, None) for n in DECIDE_FEATURES] + [(None, None)]
    result = minimize(loss, np.zeros(len(DECIDE_FEATURES) + 1), jac=True, method="L-BFGS-B",
                      bounds=bounds)
    coef = result.x[:-1] / std
    bias = float(result.x[-1] - coef @ mean)
    return AnswerModel(model.rank_weights,
                       {n: round(float(v), 4) for n, v in zip(DECIDE_FEATURES, coef, strict=True)},
                       round(bias, 4), model.threshold)


@dataclass
class Outcome:
    right: bool  # the reply is right: answered with an answering first quote, or declined
    answered: bool
    first_right: bool
    answerable: bool


def outcomes(groups: list[Group], model: AnswerModel, threshold: float) -> list[Outcome]:
    out = []
    for g in groups:
        decided, first = ranked(g, model)
        answered = bool(decided) and model.answer_probability(decided) >= threshold
        answerable = bool(g.gold.any())
        out.append(Outcome((answered and first) or (not answered and not answerable),
                           answered, first, answerable))
    return out


def balanced(groups: list[Group], model: AnswerModel, threshold: float) -> float:
    """Mean of: answered right among answerable questions, declined among the rest,
    per source weights."""
    res = outcomes(groups, model, threshold)
    w = weights_of(groups)
    pos = np.array([o.answerable for o in res])
    ok = np.array([o.right for o in res])
    return float(((w * ok)[pos].sum() / w[pos].sum() + (w * ok)[~pos].sum() / w[~pos].sum()) / 2)


def train(groups: list[Group], l2: float = 0.01, c: float = 1.0) -> AnswerModel:
    train_part = [g for g in groups if g.part == "train"]
    model = AnswerModel(fit_ranker(train_part, l2), {}, 0.0, 0.5)
    model = fit_decision(train_part, model, c)
    return AnswerModel(model.rank_weights, model.decide_weights, model.decide_bias,
                       choose_threshold(groups, model))


FALLBACK_FLOOR = 0.9  # questions the seed corpus does not answer: at least this many decline


def choose_threshold(groups: list[Group], model: AnswerModel) -> float:
    """The best balanced accuracy on the tune part, among thresholds at which our seed
    questions that expect a fallback (near- and off-domain, training and tune parts) are
    declined at least FALLBACK_FLOOR of the time."""
    tune_part = [g for g in groups if g.part == "tune"]
    fallbacks = [g for g in groups if g.source == "seed" and g.extra.get("expect") == "fallback"]
    options = []
    for t in np.round(np.arange(0.2, 0.81, 0.02), 2):
        declined = (np.mean([o.right for o in outcomes(fallbacks, model, t)]) if fallbacks
                    else 1.0)
        options.append((declined >= FALLBACK_FLOOR, balanced(tune_part, model, t), t))
    return float(max(options)[2])


def table(groups: list[Group], model: AnswerModel) -> list[str]:
    rows = ["| part | source | questions | first candidate answers (answerable) | "
            "answered right (answerable) | declined (not answerable) |", "|---|---|---|---|---|---|"]
    for part in ("train", "tune"):
        for source in SHARES:
            gs = [g for g in groups if g.part == part and g.source == source]
            if not gs:
                continue
            res = outcomes(gs, model, model.threshold)
            pos = [o for o in res if o.answerable]
            neg = [o for o in res if not o.answerable]
            rows.append(f"| {part} | {source} | {len(gs)} | "
                        f"{sum(o.first_right for o in pos) / max(len(pos), 1):.3f} | "
                        f"{sum(o.right for o in pos) / max(len(pos), 1):.3f} | "
                        f"{sum(o.right for o in neg) / max(len(neg), 1):.3f} |")
    return rows


def curve(groups: list[Group]) -> list[str]:
    """Quality on the tune part against how many dataset questions the fit saw."""
    rows = ["| training questions (datasets) | seed tune: right | zh tune: first right | "
            "zh tune: right | meqsum tune: right |", "|---|---|---|---|---|"]
    train_part = [g for g in groups if g.part == "train"]
    tune_part = [g for g in groups if g.part == "tune"]
    rng = random.Random(5)
    for fraction in (0.05, 0.1, 0.25, 0.5, 1.0):
        sample = [g for g in train_part if g.source == "seed" or rng.random() < fraction]
        model = train(sample + tune_part)
        cells = []
        for source, what in (("seed", "right"), ("zh", "first_right"), ("zh", "right"),
                             ("meqsum", "right")):
            res = outcomes([g for g in tune_part if g.source == source], model, model.threshold)
            if what == "first_right":
                res = [o for o in res if o.answerable]
            cells.append(f"{sum(getattr(o, what) for o in res) / max(len(res), 1):.3f}")
        count = sum(g.source != "seed" for g in sample if g.part == "train")
        rows.append(f"| {count} | " + " | ".join(cells) + " |")
    rows += ["", "| our seed-corpus training questions (all dataset questions in) | "
             "seed tune: right | seed tune: first right |", "|---|---|---|"]
    for fraction in (0.25, 0.5, 0.75, 1.0):
        sample = [g for g in train_part if g.source != "seed" or rng.random() < fraction]
        model = train(sample + tune_part)
        res = outcomes([g for g in tune_part if g.source == "seed"], model, model.threshold)
        first = [o.first_right for o in res if o.answerable]
        rows.append(f"| {sum(g.source == 'seed' for g in sample)} | "
                    f"{sum(o.right for o in res) / max(len(res), 1):.3f} | "
                    f"{sum(first) / max(len(first), 1):.3f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reuse", action="store_true", help="reuse the collected candidates")
    parser.add_argument("--refresh-seed", action="store_true",
                        help="collect our seed questions again, reuse the datasets' candidates")
    parser.add_argument("--medquad", type=int, default=2000)
    parser.add_argument("--l2", type=float, default=0.01)
    parser.add_argument("--c", type=float, default=1.0)
    parser.add_argument("--curve", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    groups = collect(args)
    model = train(groups, args.l2, args.c)
    before = load_model()
    if not args.no_write:
        MODEL_PATH.write_text(model.to_json(), "utf-8")
    counts: dict[tuple[str, str], int] = {}
    for g in groups:
        counts[(g.source, g.part)] = counts.get((g.source, g.part), 0) + 1
    body = ("Ranker: listwise logistic over each question's candidates; decision: logistic "
            "regression on the question's signals given the ranker's order (label: the first "
            "candidate answers); threshold: best balanced accuracy on the tune part. Source "
            f"shares {SHARES}. Questions (each dataset question also without its answer): "
            + ", ".join(f"{s} {p} {n}" for (s, p), n in sorted(counts.items())) + ".\n\n"
            + f"Ranker weights: `{json.dumps(model.rank_weights)}`\n\n"
            + f"Decision weights: `{json.dumps(model.decide_weights)}`, bias "
              f"`{model.decide_bias}`, threshold **{model.threshold}** (before: "
              f"{before.threshold}).\n\n" + "\n".join(table(groups, model)))
    if args.curve:
        body += ("\n\nLearning curve (the same fit on a random share of the dataset "
                 "questions; our seed questions always in; figures on the tune part):\n\n"
                 + "\n".join(curve(groups)))
    report("calibration", body, args.no_write)


if __name__ == "__main__":
    main()
