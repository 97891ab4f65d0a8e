"""The one core object: `Bot.ask(message) -> Reply`. CLI, HTTP and later channels call this."""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from bot import answer, redflags, safety, smalltalk
from bot.builder import build_in_child
from bot.confidence import SCORING
from bot.config import Settings
from bot.decision import load_model
from bot.embedding import Embedder, make_embedder, model_id_of
from bot.errors import DatabaseError, IndexStoreError, InputError, check_unicode
from bot.explain import Decision, Explanation, explanation
from bot.index import (
    Manifest,
    Progress,
    built_from,
    chunk_holding,
    current_path,
    is_stale,
    load_index,
)
from bot.language import QUESTION_LIKE, detect_lang, has_cjk, is_follow_up, same_words_key, warm_up
from bot.models import (
    Chunk,
    Lang,
    Passage,
    RedFlagNote,
    Reply,
    Turn,
    section_key,
)
from bot.ranking import Assessment, Candidate, assess
from bot.recorder import ExchangeRecorder
from bot.retrieval import Hit, Retriever
from bot.sessions import SESSION_ID, SessionIds, SessionStore, make_session_store

log = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _check_session_id(session_id: str) -> None:
    if not SESSION_ID.match(session_id):
        raise InputError("session_id must be 1-128 letters, digits or _.:@-")


@dataclass(frozen=True)
class _Query:
    text: str  # what retrieval sees (with context for a follow-up)
    message: str  # the visitor's own words, greeting stripped
    lang: Lang
    follow_up: bool
    previous_docs: tuple[str, ...] = ()  # a follow-up: the sections quoted before (section_key)
    # After an earlier question, a message that does not look like a follow-up may still
    # be one ("弯到多少度就得干预了"): its reading with the previous question, tried when
    # the message alone would fall back.
    in_context: _Query | None = None


class Bot:
    def __init__(self, retriever: Retriever, settings: Settings,
                 sessions: SessionStore | None = None,
                 recorder: ExchangeRecorder | None = None) -> None:
        self.retriever = retriever
        self.settings = settings
        self.recorder = recorder  # None: exchanges are not recorded (CLI, evaluation)
        self.sessions = sessions or make_session_store(settings)
        self.threshold = (load_model().threshold if settings.min_confidence is None
                          else settings.min_confidence)
        self._starters = _starter_questions(retriever.index.chunks)
        self._reindex_lock = threading.Lock()
        self._checked_build_at = time.monotonic()
        self._session_ids: SessionIds | None = None

    # ------------------------------------------------------------ construction
    @classmethod
    def load(cls, index_dir: Path | str | None = None, corpus_dir: Path | str | None = None,
             settings: Settings | None = None, embedder: Embedder | None = None,
             build: bool = True, sessions: SessionStore | None = None,
             recorder: ExchangeRecorder | None = None, as_built: bool = False) -> Bot:
        """Load the index, building it first when it is missing or stale (and `build`;
        see `prepare`); with `as_built`, serve the index as it is, whatever corpus it was
        built from (a replica serving builds made elsewhere)."""
        if as_built:
            settings = (settings or Settings()).model_copy(update={
                k: Path(v) for k, v in (("index_dir", index_dir), ("corpus_dir", corpus_dir))
                if v is not None})
        else:
            settings = cls.prepare(index_dir, corpus_dir, settings, build)
        embedder = embedder or make_embedder(settings.embedding_model,
                                             settings.embed_threads, settings.model_dir)
        retriever = Retriever(load_index(settings.index_dir), embedder)
        warm_up()
        redflags.warm_up()
        if hasattr(embedder, "warm_up"):
            embedder.warm_up()
        return cls(retriever, settings, sessions, recorder)

    @staticmethod
    def prepare(index_dir: Path | str | None = None, corpus_dir: Path | str | None = None,
                settings: Settings | None = None, build: bool = True) -> Settings:
        """The settings a bot serves with, its index built first when it is missing or
        stale (and `build`; else IndexStoreError), without loading anything.

        The corpus is the one given (argument or FAQBOT_CORPUS_DIR); without one, the
        corpus the index was built from (its manifest), and only for a new index the
        default. An index is never rebuilt from a corpus it was not built from unless that
        corpus is given; one whose corpus is gone is served as it is."""
        settings = settings or Settings()
        updates: dict[str, Path] = {}
        if index_dir is not None:
            updates["index_dir"] = Path(index_dir)
        if corpus_dir is not None:
            updates["corpus_dir"] = Path(corpus_dir)
        elif "corpus_dir" not in settings.model_fields_set:
            own = built_from(updates.get("index_dir", settings.index_dir))
            if own is not None:
                updates["corpus_dir"] = own
        settings = settings.model_copy(update=updates)
        if settings.corpus_dir.is_dir() and is_stale(
                settings.index_dir, settings.corpus_dir, model_id_of(settings.embedding_model),
                settings.vector_index):
            if not build:
                raise IndexStoreError(f"index in {settings.index_dir} is missing or stale")
            log.info("building index from %s", settings.corpus_dir)
            build_in_child(settings)
        return settings

    # ------------------------------------------------------------ index updates
    def reindex(self, progress: Progress | None = None) -> Manifest:
        """Rebuild the index from the corpus and serve it from the next question on.
        Unchanged texts come from the embedding cache, so only new or edited entries are
        embedded; questions in flight finish on the index they started with. The build
        runs in a child process (bot.builder): its memory is never the server's. `progress`
        hears of each stage (bot.index.build_index)."""
        with self._reindex_lock:
            manifest = build_in_child(self.settings, progress)
            self._use(load_index(self.settings.index_dir))
        return manifest

    def refresh_if_rebuilt(self, every_seconds: float = 2.0) -> None:
        """Another process (worker, replica, `faqbot index`) may have swapped in a new build:
        look at most every few seconds, and load it."""
        now = time.monotonic()
        if now - self._checked_build_at < every_seconds:
            return
        self._checked_build_at = now
        try:
            live = current_path(self.settings.index_dir).resolve()
        except OSError:
            return
        serving = self.retriever.index.path
        if live == serving or live.parent != serving.parent:  # not a build of our index dir
            return
        if self._reindex_lock.acquire(blocking=False):
            try:
                self._use(load_index(self.settings.index_dir))
            except IndexStoreError as exc:
                log.error("new index build not loaded: %s", exc)
            finally:
                self._reindex_lock.release()

    def _use(self, index) -> None:
        self.retriever = Retriever(index, self.retriever.embedder, self.retriever.params)
        self._starters = _starter_questions(index.chunks)

    # ------------------------------------------------------------ sessions
    @property
    def session_ids(self) -> SessionIds:
        """Keyed by the client salt (FAQBOT_CLIENT_SALT, the same on every replica), so any
        worker or replica accepts the ids another issued."""
        if self._session_ids is None:
            self._session_ids = SessionIds(self.settings.client_salt_bytes())
        return self._session_ids

    def session_for(self, channel: str, user: str) -> str:
        """The session id of a channel's own user (a WeChat openid): the same every time,
        and usable only by that channel."""
        return self.session_ids.issue(channel, user)

    def _own_session(self, session_id: str | None, channel: str) -> str:
        """`session_id` if the bot issued it for `channel`; else a new conversation (an
        expired, made-up or other channel's id never reaches that conversation)."""
        if session_id:
            _check_session_id(session_id)
            if self.session_ids.channel_of(session_id) == channel:
                return session_id
            log.info("session id not issued for channel %s: a new conversation", channel)
        return self.session_ids.issue(channel)

    # ------------------------------------------------------------ public API
    def search(self, query: str, k: int = 10) -> list[Passage]:
        """Raw ranked retrieval (no threshold): whole chunks with their dense score."""
        hits = self.retriever.search(query, k=k)
        return [answer.make_passage(h.chunk, (0, len(h.chunk.text)), h.dense) for h in hits]

    def explain(self, message: str, session_id: str | None = None,
                limit: int = 10) -> Explanation:
        """What `ask` would do with this message and why: the candidate passages with
        their signals and confidence, the threshold, the path taken (answer / fallback /
        urgent / smalltalk) and the red-flag rules that fired. Changes no session; reads
        one the bot issued, for any channel."""
        message = self.validate_message(message)
        if session_id:
            _check_session_id(session_id)
        known = bool(session_id) and self.session_ids.channel_of(session_id) is not None
        history = self.sessions.recent(session_id) if known else []
        query = self._understand(message, history)
        decision = self._decide(message, query)
        return explanation(message, decision.searched or query.text, query.lang, decision, limit)

    def try_out(self, message: str, previous: str | None = None,
                limit: int = 10) -> tuple[Reply, Explanation]:
        """The reply a visitor would get, and why, without a session or a log entry
        (the console's test screen). `previous`: ask it as a follow-up to that question."""
        message = self.validate_message(message)
        history: list[Turn] = []
        if previous and previous.strip():
            before = self._understand(self.validate_message(previous), [])
            history = [Turn(question=before.message, retrieval_query=before.text,
                            lang=before.lang, kind="answer", doc_ids=[])]
        query = self._understand(message, history)
        decision = self._decide(message, query)
        reply = self._reply(query, decision, "test:preview")
        return reply, explanation(message, decision.searched or query.text, query.lang,
                                  decision, limit)

    def ask(self, message: str, session_id: str | None = None, channel: str = "api") -> Reply:
        """Answer one message; `channel` (web, wechat-mp, …) is recorded in the log and owns
        the conversation: `session_id` continues it only if the bot issued it for this
        channel, else a new one starts (the reply carries its id)."""
        started = time.perf_counter()
        self.refresh_if_rebuilt()
        message = self.validate_message(message)
        session_id = self._own_session(session_id, channel)
        history = self.sessions.recent(session_id)
        query = self._understand(message, history)
        decision = self._decide(message, query)
        reply = self._reply(query, decision, session_id)
        self.sessions.append(session_id, Turn(
            question=message, retrieval_query=decision.searched or query.text, lang=reply.lang,
            kind=reply.kind,
            doc_ids=[p.doc_id for p in reply.passages],
            sections=[section_key(p.doc_id, p.title) for p in reply.passages]))
        if self.recorder is not None:
            try:
                self.recorder.record_exchange(message, reply, channel,
                                              (time.perf_counter() - started) * 1000)
            except DatabaseError as exc:  # spooled; the visitor still gets the answer
                log.error("exchange %s not written to the database: %s", reply.reply_id, exc)
        return reply

    def feedback(self, reply_id: str, rating: str, comment: str | None = None) -> None:
        """Record a visitor's rating of a reply (InputError for an unknown reply)."""
        if self.recorder is None:
            raise DatabaseError("no conversation log; feedback is not recorded")
        self.recorder.record_feedback(reply_id, rating, comment)

    def validate_message(self, message: object) -> str:
        if not isinstance(message, str):
            raise InputError("message must be text")
        check_unicode(message, "message")
        message = _CONTROL.sub(" ", message).strip()
        if not message:
            raise InputError("message is empty")
        if len(message) > self.settings.max_message_chars:
            raise InputError(f"message is longer than {self.settings.max_message_chars} "
                             f"characters")
        if message.count("\ufffd") > max(3, len(message) // 10):
            raise InputError("message is not readable text")
        return message

    def suggestions(self, lang: Lang, k: int = 5) -> list[str]:
        """Questions the corpus answers, in the visitor's language only (none if it has none)."""
        return self._starters.get(lang, [])[:k]

    def assessment_of(self, turns: list[str]) -> tuple[_Query, Assessment]:
        """How the bot reads the last of `turns` (the ones before are the conversation) and
        the candidates it weighs, before any operator's guidance (training and evaluation
        scripts; no session, no log)."""
        history: list[Turn] = []
        for turn in turns[:-1]:
            message = self.validate_message(turn)
            before = self._understand(message, history)
            decision = self._decide(message, before)
            history.append(Turn(question=before.message, retrieval_query=before.text,
                                lang=before.lang, kind=decision.path,
                                doc_ids=[p.doc_id for p in decision.passages],
                                sections=[section_key(p.doc_id, p.title)
                                          for p in decision.passages]))
        return self._read(self._understand(self.validate_message(turns[-1]), history))

    # ------------------------------------------------------------ internals
    def _read(self, query: _Query, include: list[int] | None = None
              ) -> tuple[_Query, Assessment]:
        """The message's assessment; after an earlier question, a message that would fall
        back alone is read with that question too, and that reading is kept if it answers
        (a follow-up that does not look like one: "弯到多少度就得干预了")."""
        assessment = self._assess(query, include)
        if query.in_context is not None and assessment.answer < self.threshold:
            in_context = self._assess(query.in_context, include)
            if in_context.answer >= self.threshold:
                return query.in_context, in_context
        return query, assessment

    def _assess(self, query: _Query, include: list[int] | None = None) -> Assessment:
        return assess(self.retriever, query.text, query.lang,
                      focus=query.message if query.follow_up else None, include=include,
                      previous_docs=query.previous_docs)

    def _understand(self, message: str, history: list[Turn]) -> _Query:
        text = smalltalk.strip_greeting(message) or message
        has_words = has_cjk(text) or re.search(r"[A-Za-z]{2,}", text)
        lang: Lang = detect_lang(text) if has_words else (history[-1].lang if history else "zh")
        previous = next((t for t in reversed(history) if t.kind != "smalltalk"), None)
        if previous is None:
            return _Query(text, text, lang, False)
        follow = _Query(f"{previous.question} {text}", text, lang, True,
                        tuple(dict.fromkeys(previous.sections)))
        return follow if is_follow_up(text, lang) else _Query(text, text, lang, False,
                                                               in_context=follow)

    def _decide(self, message: str, query: _Query) -> Decision:
        intent = smalltalk.intent_of(message)
        if intent:
            return Decision(path="smalltalk", why=f"small talk ({intent})",
                            threshold=self.threshold, smalltalk=intent)
        flags = safety.red_flags(message) or (safety.red_flags(query.text)
                                              if query.follow_up else [])
        guidance = self.retriever.index.guidance
        phrasing = guidance.phrasing_for(query.message)
        position = (chunk_holding(self.retriever.index.chunks, phrasing.doc_id,
                                  phrasing.quote) if phrasing else None)
        query, assessment = self._read(query, None if position is None else [position])
        assessment = _entry_asked_as_written(assessment, query.message, self.threshold)
        if query.follow_up:
            flags = flags or safety.red_flags(query.text)
        if phrasing is not None and position is not None:
            assessment = _as_operators_said(assessment, position, phrasing.quote,
                                            self.threshold)
        if not flags and guidance.is_negative(query.message):
            return Decision(path="fallback", why="an operator marked this question as one "
                            "the bot should not answer", threshold=self.threshold,
                            assessment=assessment, searched=query.text)
        chosen = self._choose(assessment)
        passages = [answer.make_passage(c.hit.chunk, c.span, c.confidence)
                    for c in (assessment.candidates[i] for i in chosen)]
        best = assessment.answer
        if flags:
            rules = ", ".join(f"{f.rule} ({f.sign}) [{f.level}, by {f.by}]" for f in flags)
            return Decision(path="urgent", why=f"red flag: {rules}", threshold=self.threshold,
                            flags=flags, assessment=assessment, chosen=chosen,
                            passages=passages, searched=query.text)
        if passages:
            why = f"answer confidence {best:.2f} >= threshold {self.threshold:.2f}"
            return Decision(path="answer", why=why, threshold=self.threshold,
                            assessment=assessment, chosen=chosen, passages=passages,
                            searched=query.text)
        why = (f"answer confidence {best:.2f} < threshold {self.threshold:.2f}"
               if assessment.candidates else "no candidate passage")
        return Decision(path="fallback", why=why, threshold=self.threshold,
                        assessment=assessment, searched=query.text)

    def _choose(self, assessment: Assessment) -> list[int]:
        """The quoted candidates: the first one if the decision says the bot can answer,
        then others the ranker scores nearly as high, from other chunks, that add to what
        is already quoted: words of the question it lacks, or a sentence closer to the
        question (a paragraph can answer in other words: 检查 asked, 直腿抬高试验 and MRI
        quoted)."""
        candidates = assessment.candidates
        if not candidates or assessment.answer < self.threshold:
            return []
        bar = candidates[0].confidence - SCORING.margin
        chosen = [0]
        covered = set(candidates[0].covered)
        closest = candidates[0].features["sentence"]
        for i, item in enumerate(candidates[1:], start=1):
            if len(chosen) >= self.settings.max_passages:
                break
            adds = (not covered or set(item.covered) - covered
                    or item.features["sentence"] > closest)
            if item.confidence < bar or not adds:
                continue
            passage = answer.make_passage(item.hit.chunk, item.span, item.confidence)
            if any(answer.overlaps(passage, answer.make_passage(
                    candidates[j].hit.chunk, candidates[j].span, 0.0)) for j in chosen):
                continue
            chosen.append(i)
            covered |= set(item.covered)
            closest = max(closest, item.features["sentence"])
        return chosen

    def _reply(self, query: _Query, decision: Decision, session_id: str) -> Reply:
        """The reply for a decision; every kind says only what is true of it: quotes are
        claimed only when there are some, an alert never says the sources don't answer,
        small talk carries no claim about quotes."""
        lang = query.lang
        reply = {"session_id": session_id, "lang": lang, "kind": decision.path,
                 "why": decision.why}
        if decision.path == "smalltalk":
            suggestions = self.suggestions(lang, 3)
            line = smalltalk.REPLIES[decision.smalltalk or "greeting"][lang]
            return _make_reply(**reply, message=line, suggestions=suggestions,
                               text=answer.render_smalltalk(line, suggestions, lang),
                               disclaimer=safety.GENERAL_DISCLAIMER[lang])
        passages = decision.passages
        if decision.flags:
            level = redflags.level_of(decision.flags)
            alert = safety.urgent_message(decision.flags, lang)
            reply.update(alert=alert, urgency=level.value, red_flags=[RedFlagNote(
                rule=f.rule, level=f.level.value, name=f.name[lang], words=f.sign)
                for f in decision.flags])
            if not passages:  # the alert and what to do; no word about sources
                line = safety.URGENT_LINE[level][lang]
                disclaimer = safety.GENERAL_DISCLAIMER[lang]
                return _make_reply(**reply, message=line, disclaimer=disclaimer,
                                   text="\n\n".join((alert, line, disclaimer)))
        if passages:
            disclaimer = safety.DISCLAIMER[lang]
            hits = [c.hit for c in decision.assessment.candidates] if decision.assessment else []
            suggestions = ([] if decision.flags else
                           self._related_questions(hits, passages, query.message, lang))
            return _make_reply(**reply, message=answer.answer_intro(lang, passages),
                               passages=passages, disclaimer=disclaimer, suggestions=suggestions,
                               text=answer.render_answer(lang, passages, disclaimer,
                                                         lead=reply.get("alert")))
        disclaimer = safety.GENERAL_DISCLAIMER[lang]
        suggestions = self.suggestions(lang, 3)
        return _make_reply(**reply, message=answer.FALLBACK[lang], disclaimer=disclaimer,
                           suggestions=suggestions,
                           text=answer.render_fallback(lang, suggestions, disclaimer))

    def _related_questions(self, hits: list[Hit], passages: list[Passage], message: str,
                           lang: Lang, k: int = 3) -> list[str]:
        quoted = {p.text for p in passages}
        seen = {same_words_key(message)}
        out: list[str] = []
        for hit in hits:
            for candidate in _questions_of(hit.chunk):
                key = same_words_key(candidate)
                if key in seen or detect_lang(candidate) != lang:
                    continue
                if any(candidate in q for q in quoted):
                    continue
                seen.add(key)
                out.append(candidate)
        return out[:k] or self.suggestions(lang, k)


def _make_reply(**fields) -> Reply:
    return Reply(reply_id=uuid.uuid4().hex, **fields)


def _answered_first(assessment: Assessment, i: int, candidate: Candidate,
                    threshold: float) -> Assessment:
    """`candidate` (in place of candidate i) first among the candidates, and the decision
    at least at the threshold: the bot answers with it."""
    candidates = list(assessment.candidates)
    candidates.pop(i)
    return dataclasses.replace(assessment, candidates=[candidate, *candidates],
                               answer=max(assessment.answer, threshold))


def _as_operators_said(assessment: Assessment, position: int, quote: str,
                       threshold: float) -> Assessment:
    """The operator's passage for this question quoted as they saved it, and confident
    enough to be: first among the candidates."""
    for i, candidate in enumerate(assessment.candidates):
        if candidate.hit.chunk_position == position:
            start = candidate.hit.chunk.text.index(quote)
            features = {**candidate.features, "operator_phrasing": 1.0}
            quoted = dataclasses.replace(
                candidate, span=(start, start + len(quote)), features=features,
                confidence=max(c.confidence for c in assessment.candidates))
            return _answered_first(assessment, i, quoted, threshold)
    return assessment


def _entry_asked_as_written(assessment: Assessment, message: str,
                            threshold: float) -> Assessment:
    """A Q&A entry's own question, asked as written (case, spacing and punctuation aside),
    is answered by that entry, whatever the decision says: the operator wrote that question
    (a curated answer) and the entry answers it."""
    key = same_words_key(message)
    for i, candidate in enumerate(assessment.candidates):
        chunk = candidate.hit.chunk
        if chunk.kind == "qa" and chunk.question and same_words_key(chunk.question) == key:
            return _answered_first(assessment, i, candidate, threshold)
    return assessment


def _questions_of(chunk: Chunk) -> list[str]:
    candidates = [chunk.question or "", chunk.heading, chunk.title]
    return [c for c in candidates if c and QUESTION_LIKE.search(c) and len(c) <= 80]


def _starter_questions(chunks: list[Chunk]) -> dict[Lang, list[str]]:
    """Question-like titles and headings, one per document in turn, per language."""
    per_doc: dict[str, list[str]] = {}
    for chunk in chunks:
        bucket = per_doc.setdefault(chunk.doc_id, [])
        for candidate in _questions_of(chunk):
            if candidate not in bucket:
                bucket.append(candidate)
    out: dict[Lang, list[str]] = {"zh": [], "en": []}
    depth = 0
    while any(len(b) > depth for b in per_doc.values()) and sum(map(len, out.values())) < 40:
        for bucket in per_doc.values():
            if len(bucket) > depth:
                lang = detect_lang(bucket[depth])
                if len(out[lang]) < 20:
                    out[lang].append(bucket[depth])
        depth += 1
    return out
