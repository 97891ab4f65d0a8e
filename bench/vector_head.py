"""Would a ranker that reads the e5 vectors themselves choose better passages than the
shipped one, which reads ~40 scalar signals? An experiment, not shipped: its figures are in
docs/benchmarks.md (section "vector-head") as what we learned.

The candidates are bench/calibrate.py's, collected the same way (same questions, same
train/tune parts), with three vectors recorded as bot.ranking.assess computes them: the
question's, each candidate's quote (its sentences' mean) and its heading's. Fitted on the
train part, reported on the tune part (first candidate answers, answerable questions):

- shipped: the ranker in bot/data/answer_model.json;
- linear: the same listwise fit on the same signals, refitted here;
- diagonal: the signals plus a learned weight per vector dimension of question * quote and
  question * heading (768 more weights), fitted jointly on all sources;
- low-rank: the signals plus a rank-r bilinear form of question and quote/heading;
- datasets only: the diagonal weights fitted on the Chinese and English datasets alone, then
  used as one more signal of a linear fit on all sources: what holds for a corpus no
  question was written for (the seed corpus is then unseen by the vector weights).

torch (the CPU build, as for other build-time work) does the fitting.
Usage: python bench/vector_head.py [--reuse] [--no-write]
"""

from __future__ import annotations

import argparse
import pickle

import calibrate
import numpy as np
import torch
from common import CACHE, report

import bot.core
import bot.ranking
from bot.decision import load_model
from bot.language import is_word

PATH = CACHE / "vector_groups.pkl"
_recorded: dict[int, dict[str, np.ndarray]] = {}


def recording_assess(retriever, text, lang, focus=None, **kwargs):
    """bot.ranking.assess, with the question's, quotes' and headings' vectors recorded."""
    quotes: dict[int, np.ndarray | None] = {}
    original = retriever.passage_vector

    def passage_vector(position, units):
        quotes[position] = original(position, units)
        return quotes[position]

    retriever.passage_vector = passage_vector
    try:
        assessment = bot.ranking.assess(retriever, text, lang, focus, **kwargs)
    finally:
        del retriever.passage_vector
    question = (retriever.embed_query(focus, bot.ranking.LIMITS.second_tokens) if focus else
                retriever.embed_query(retriever.index.lexicon.correct(text, is_word)))
    zero = np.zeros_like(question)

    def stack(vectors):
        return np.array([zero if v is None else v for v in vectors], dtype=np.float16
                        ).reshape(-1, len(question))

    positions = [c.hit.chunk_position for c in assessment.candidates]
    _recorded[id(assessment)] = {
        "question": question.astype(np.float16),
        "quote": stack([quotes.get(p) for p in positions]),
        "heading": stack([retriever.heading_vector(p) for p in positions])}
    return assessment


def collect() -> list[calibrate.Group]:
    calibrate.assess = recording_assess
    bot.core.assess = recording_assess
    make_group, drop_answer = calibrate.candidates_group, calibrate.without_answer

    def candidates_group(assessment, retriever, *args, **kwargs):
        group = make_group(assessment, retriever, *args, **kwargs)
        group.vectors = _recorded.pop(id(assessment))
        return group

    def without_answer(group):
        out = drop_answer(group)
        keep = ~group.gold
        out.vectors = dict(group.vectors, quote=group.vectors["quote"][keep],
                           heading=group.vectors["heading"][keep])
        return out

    calibrate.candidates_group, calibrate.without_answer = candidates_group, without_answer
    return (calibrate.seed_groups() + calibrate.zh_groups() + calibrate.meqsum_groups()
            + calibrate.medquad_groups(2000))


class Fit:
    """Listwise softmax over each question's candidates (as calibrate.fit_ranker), on the
    train part; scores any group."""

    def __init__(self, groups: list[calibrate.Group], vectors: str = "", rank: int = 0,
                 l2: float = 1e-6, extra=None) -> None:
        self.vectors, self.rank, self.extra = vectors, rank, extra
        x = np.vstack([self._signals(g) for g in groups])
        self.mean, self.std = x.mean(axis=0), x.std(axis=0) + 1e-6
        sizes = [len(g.gold) for g in groups]
        owner = torch.tensor(np.repeat(np.arange(len(groups)), sizes))
        gold = torch.tensor(np.concatenate([g.gold for g in groups]), dtype=torch.float32)
        share = torch.tensor(calibrate.weights_of(groups), dtype=torch.float32)
        inputs = self._inputs(groups)
        torch.manual_seed(0)
        self.w = torch.zeros(x.shape[1], requires_grad=True)
        self.diag = torch.zeros(2, 384, requires_grad=vectors == "diagonal")
        self.low = (torch.randn(3, 384, max(rank, 1)) * 0.01).requires_grad_(rank > 0)
        n = len(groups)

        def loss():
            s = self._score(inputs)
            top = torch.zeros(n).scatter_reduce(0, owner, s.detach(), "amax",
                                                include_self=False)
            e = torch.exp(s - top[owner])
            total = torch.zeros(n).index_add(0, owner, e)
            good = torch.zeros(n).index_add(0, owner, e * gold)
            fit = -(share * (torch.log(good + 1e-12) - torch.log(total))).sum() / n
            return (fit + 0.01 * (self.w @ self.w) + l2 * (self.diag ** 2).sum()
                    + (1e-4 * (self.low ** 2).sum() if rank else 0.0))

        params = [self.w] + ([self.diag] if vectors == "diagonal" else []) + (
            [self.low] if rank else [])
        if rank:
            opt = torch.optim.Adam(params, lr=0.01)
            for _ in range(400):
                opt.zero_grad()
                value = loss()
                value.backward()
                opt.step()
        else:
            opt = torch.optim.LBFGS(params, max_iter=300, line_search_fn="strong_wolfe")

            def closure():
                opt.zero_grad()
                value = loss()
                value.backward()
                return value

            opt.step(closure)

    def _signals(self, group) -> np.ndarray:
        x = calibrate.matrix(group)
        return x if self.extra is None else np.c_[x, self.extra(group)]

    def _inputs(self, groups) -> tuple[torch.Tensor, ...]:
        x = np.vstack([self._signals(g) for g in groups])
        q = np.vstack([np.repeat(g.vectors["question"][None], len(g.gold), 0) for g in groups])
        p = np.vstack([g.vectors["quote"] for g in groups])
        h = np.vstack([g.vectors["heading"] for g in groups])
        return tuple(torch.tensor(np.asarray(a, dtype=np.float32)) for a in
                     ((x - self.mean) / self.std, q, p, h))

    def _score(self, inputs) -> torch.Tensor:
        z, q, p, h = inputs
        s = z @ self.w
        if self.vectors == "diagonal":
            s = s + 10 * ((q * p) @ self.diag[0] + (q * h) @ self.diag[1])
        if self.rank:
            qu = q @ self.low[0]
            s = s + 10 * ((qu * (p @ self.low[1])).sum(1) + (qu * (h @ self.low[2])).sum(1))
        return s

    def diagonal_signal(self, group) -> np.ndarray:
        q = group.vectors["question"].astype(np.float32)
        d = self.diag.detach().numpy()
        return ((group.vectors["quote"] * q) @ d[0] + (group.vectors["heading"] * q) @ d[1])

    def scores(self, group) -> np.ndarray:
        with torch.no_grad():
            return self._score(self._inputs([group])).numpy()


def first_right(groups, score) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], list[bool]] = {}
    for g in groups:
        out.setdefault((g.source, g.part), []).append(bool(g.gold[int(np.argmax(score(g)))]))
    return {k: float(np.mean(v)) for k, v in sorted(out.items())}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reuse", action="store_true", help="reuse the collected candidates")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.reuse and PATH.exists():
        groups = pickle.loads(PATH.read_bytes())  # our own cache
    else:
        groups = collect()
        PATH.write_bytes(pickle.dumps(groups))
    groups = [g for g in groups if g.gold.any() and len(g.gold) > 1]
    train = [g for g in groups if g.part == "train"]
    shipped = load_model()
    rows = {"shipped ranker": first_right(groups, lambda g: np.array(
        [shipped.rank_score(f) for f in calibrate.relative(g.features, g.langs, g.lang)]))}
    for label, fit in (("linear, refitted", Fit(train)),
                       ("+ diagonal, all sources", Fit(train, "diagonal")),
                       ("+ low-rank 32, all sources", Fit(train, rank=32))):
        rows[label] = first_right(groups, fit.scores)
    head = Fit([g for g in train if g.source != "seed"], "diagonal")
    two_stage = Fit(train, extra=head.diagonal_signal)
    rows["+ diagonal fitted on the datasets only, one signal"] = first_right(
        groups, two_stage.scores)
    keys = sorted({k for r in rows.values() for k in r})
    lines = ["First candidate answers (answerable questions with more than one candidate; "
             "fitted on 'train', the figure that counts is 'tune'):", "",
             "| ranker | " + " | ".join(f"{s} {p}" for s, p in keys) + " |",
             "|---|" + "---|" * len(keys)]
    lines += [f"| {label} | " + " | ".join(f"{r.get(k, float('nan')):.3f}" for k in keys)
              + " |" for label, r in rows.items()]
    report("vector-head", "\n".join(lines), args.no_write)


if __name__ == "__main__":
    main()
