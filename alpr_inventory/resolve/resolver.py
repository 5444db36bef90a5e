"""Organisation resolver: free-text agency names -> canonical agency, kind, state, federal status.

Names arrive from Flock portals, audit logs, records releases and agreements ("Bell CA PD",
"[Federal] US Postal Inspection Service", "FBI [turned off]", "Federal Way WA PD", ...).
``Resolver.resolve(name)`` returns a :class:`Resolution` that says what the name is AND which
data row decided it (``rule``), so a reporter can check and correct the decision.

All rules are data, in ``data/resolver/`` (see its README.md); this module only applies them.

Pipeline (each step reads one CSV; within a file the FIRST matching row wins, in file order):

1. Text clean-up: Unicode NFKC, curly quotes -> ', en/em dashes -> -, whitespace collapsed,
   ends trimmed ("Colton CA PD " == "Colton CA PD").
2. ``markers.csv``: Flock's federal label ``[Federal]``/``(Federal)`` and status/network
   markers (``[Inactive]``, ``[turned off]``, ``- old``, ``DNU - ``, ``(revoked MOU) - former``,
   ``(Raven)`` ...) are removed repeatedly from the name and kept, as published, in
   ``markers`` (in the order they appear); the federal label sets ``flock_marked_federal``.
3. State: ``states.csv`` codes as upper-case tokens (``(Fl)`` in parentheses too), unless a
   ``state_exclusions.csv`` context says the token is not a state ("LA Port Police",
   "VA Medical Center").  Scores: "(XX)" 4; "XX - " at the start or "XX" right before a
   designator (PD, SO, SD, DPS, Police, ...) 3; last token 2; elsewhere 1 (ignored in
   all-caps names).  Highest score wins, ties go to the later token.  Without a code, the
   first full state name not followed by County/City/Beach/... ("Georgia Bureau of
   Investigation" -> GA; "Kansas City" is not Kansas).
4. Federal status: ``traps.csv`` first (names that look federal but are not: "Federal Way",
   town marshals, state "Office of Homeland Security", HIDTAs, auto-theft task forces, ...);
   a trap settles "not federal" even against Flock's own label (the label stays recorded in
   ``flock_marked_federal``).  Otherwise ``federal_aliases.csv`` (regex -> component); the
   component's canonical name and immigration flag come from ``federal_components.csv``.
   Otherwise Flock's ``[Federal]`` marker alone makes the body federal with component
   ``UNSPECIFIED`` (flagged in ``rule`` for review).  Nothing else makes a body federal.
5. Kind (non-federal): a trap's kind if it has one, else the first ``kind_rules.csv`` row;
   no row -> kind ``unresolved``, status ``unresolved`` (never forced).

Agency id normalisation ("Place ST SUFFIX" slug):

* the chosen state token is removed from the name (with its parentheses or "XX - " dash);
* the trailing designator is recognised by ``designators.csv`` (the longest trailing match; file
  order on a tie) and canonicalised ("Police
  Department"/"Police"/"PD" -> PD; "Sheriff's Office"/"Sheriff"/"SO"/"SD" after the state ->
  SO; "Department of Public Safety"/"Public Safety"/"DPS" -> DPS; DA, Prosecutor, Marshal, FD);
* the place words: accents folded, apostrophes dropped, "&" -> and, parenthesised acronyms
  such as "(FDLE)" dropped, hyphens/slashes/punctuation -> spaces, abbreviations expanded
  (Co/Cnty -> County, Twp -> Township, St -> Saint, Mt -> Mount, Ft -> Fort, Pct -> Precinct,
  Dept -> Department, Intl -> International, Univ -> University, Hts -> Heights), a leading
  "The", "City of", "Town of", "Village of", "Borough of" dropped;
* id = lowercase-hyphen slug of "<place> <st> <designator>" (parts that are absent are
  skipped).  So "Gwinnett County GA SO" and "Gwinnett County Sheriff's Office (GA)" ->
  ``gwinnett-county-ga-so``; "Arlington PD (WA)" and "Arlington WA PD" -> ``arlington-wa-pd``.
  A state known only from a full name ("Georgia Bureau of Investigation") is not appended.
  A name with no state at all gets no state part ("Bell Police Department" -> ``bell-pd``,
  which differs from ``bell-ca-pd``: the resolver does not guess the state).
* federal bodies: ``fed-<component>[-<unit>]`` where the unit is what is left after removing
  the alias text, the state token, the designator and generic words (U.S., Federal, Office,
  Department, of, Law Enforcement, Police, parent acronyms DHS/DOJ/ICE/USDA); with no unit
  left the state is used instead ("National Park Service (TN)" -> ``fed-nps-tn``).
  "United States Border Control - Grand Forks Sector MN" -> ``fed-cbp-usbp-grand-forks-sector``.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from parsers import datafiles

__all__ = [
    "DEFAULT_DATA_DIR",
    "KINDS",
    "FederalComponent",
    "Resolution",
    "Resolver",
    "ResolverDataError",
    "default_resolver",
]

DEFAULT_DATA_DIR = datafiles.DATA_DIR / "resolver"

KINDS = (
    "local_police",
    "sheriff",
    "state",
    "federal",
    "tribal",
    "university",
    "private",
    "task_force",
    "other",
    "unresolved",
)
_NON_FEDERAL_KINDS = frozenset(KINDS) - {"federal", "unresolved"}
_MARKER_TYPES = ("federal", "status", "network")
_FLAGS = {"": 0, "i": re.IGNORECASE}


class ResolverDataError(ValueError):
    """A data file in data/resolver is missing or malformed ("<file>:<line>: <what>")."""


@dataclass(frozen=True)
class Resolution:
    """What one raw organisation name resolves to, and which data row decided it."""

    raw_name: str
    name: str
    markers: tuple[str, ...]
    flock_marked_federal: bool
    agency_id: str
    canonical_name: str
    kind: str
    state: str | None
    federal_component: str | None
    immigration: bool
    rule: str
    status: str
    note: str = ""

    @property
    def federal(self) -> bool:
        return self.kind == "federal"


@dataclass(frozen=True)
class FederalComponent:
    component: str
    parent: str
    canonical_name: str
    immigration: bool
    source: str


@dataclass(frozen=True)
class _Rule:
    file: str
    line: int
    regex: re.Pattern[str]
    values: dict[str, str] = field(hash=False, compare=False)

    @property
    def ref(self) -> str:
        return f"{self.file}:{self.line}"


def _required_literals(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Lower-case strings of which every match of ``pattern`` contains at least one, or None.

    A speed-up only: a rule whose set has no member in the (lower-cased) name cannot match, so
    its regex is not run.  Derived from the stdlib regex parser; anything it cannot analyse
    returns None (= always run the regex), so the shortcut never changes a result.
    """
    try:
        from re import _constants as c  # noqa: PLC0415  (stdlib, Python 3.11+)
        from re import _parser as p  # noqa: PLC0415
    except ImportError:  # pragma: no cover
        return None

    def needs(seq) -> frozenset[str] | None:
        candidates: list[frozenset[str]] = []
        run: list[str] = []

        def flush() -> None:
            if len(run) >= 2:
                candidates.append(frozenset({"".join(run).lower()}))
            run.clear()

        for op, av in seq:
            if op is c.LITERAL:
                run.append(chr(av))
                continue
            flush()
            n: frozenset[str] | None = None
            if op is c.SUBPATTERN:
                n = needs(av[3])
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
                n = needs(av[2]) if av[0] >= 1 else None
            elif op is c.BRANCH:
                subs = [needs(b) for b in av[1]]
                n = None if any(x is None for x in subs) else frozenset().union(*subs)
            elif op is c.ASSERT:
                n = needs(av[1])
            elif op is getattr(c, "ATOMIC_GROUP", None):
                n = needs(av)
            if n:
                candidates.append(n)
        flush()
        if not candidates:
            return None
        return max(candidates, key=lambda x: (min(len(s) for s in x), -len(x)))

    try:
        return needs(p.parse(pattern.pattern, pattern.flags))
    except Exception:  # pragma: no cover - unknown parser internals: just run the regex
        return None


class _LiteralIndex:
    """Which of a fixed set of lower-case literals occur in a text (bigram-indexed scan)."""

    def __init__(self, literals: Iterable[str]):
        index: dict[str, list[str]] = {}
        everything = set(literals)
        for lit in sorted(everything):
            index.setdefault(lit[:2], []).append(lit)
        self._index = index
        self._all = frozenset(everything)

    def present(self, text: str) -> frozenset[str]:
        if not text.isascii():
            # Unicode case-insensitive matching can pair characters that str.lower() does not
            # ("İ", "ſ"): claim every literal, so every rule is tried.
            return self._all
        lower = text.lower()
        get, starts = self._index.get, lower.startswith
        found = set()
        for i in range(len(lower) - 1):
            cands = get(lower[i:i + 2])
            if cands:
                for lit in cands:
                    if starts(lit, i):
                        found.add(lit)
        return frozenset(found)


class _RuleList:
    """Ordered rules: the first row (in file order) whose pattern matches wins."""

    def __init__(self, rules: list[_Rule]):
        self.rules = rules
        self.needs = [_required_literals(r.regex) for r in rules]
        self._always = [i for i, n in enumerate(self.needs) if n is None]
        self._by_literal: dict[str, list[int]] = {}
        for i, n in enumerate(self.needs):
            for lit in n or ():
                self._by_literal.setdefault(lit, []).append(i)
        self._own_index = _LiteralIndex(self._by_literal)

    def first(self, text: str, present: frozenset[str] | None = None
              ) -> tuple[_Rule, re.Match[str]] | None:
        """First matching rule; ``present`` = literals known to occur in ``text`` (optional)."""
        if present is None:
            present = self._own_index.present(text)
        by_lit = self._by_literal
        candidates = set(self._always)
        for lit in present:
            idx = by_lit.get(lit)
            if idx:
                candidates.update(idx)
        rules = self.rules
        for i in sorted(candidates):
            m = rules[i].regex.search(text)
            if m:
                return rules[i], m
        return None


# ------------------------------------------------------------------------------------ helpers

_PLACEHOLDER_RE = re.compile(r"\{([A-Z_]+)\}")
_US = r"(?:\bU\.?\s?S\.?A?(?!\w)|\bUnited\s+States(?:\s+of\s+America)?\b)"

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
                         "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u00a0": " "})
_WS_RE = re.compile(r"\s+")
_EDGE_PUNCT = " -\u2013,;:/|"

_CODE_TOKEN_RE = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2})(?![A-Za-z0-9])")
_TITLE_CODE_RE = re.compile(r"(?<![A-Za-z0-9])([A-Z][a-z])(?=\s+\S)")
_PAREN_CODE_RE = re.compile(r"\(\s*([A-Za-z]{2})\s*\)")
_DASH_AFTER_RE = re.compile(r"\s*-")
_ACRONYM_PAREN_RE = re.compile(r"[\(\[]\s*[A-Z][A-Z0-9&/.\-]{1,9}\s*[\)\]]")
_WORD_RE = re.compile(r"[^\W_]+")

_ABBREVIATIONS = {
    "co": "County", "cnty": "County", "twp": "Township", "st": "Saint", "ste": "Sainte",
    "mt": "Mount", "ft": "Fort", "pct": "Precinct", "dept": "Department",
    "intl": "International", "univ": "University", "hts": "Heights",
}
_LEADING_DROPS = (("the",), ("inc", "village", "of"), ("city", "of"), ("town", "of"),
                  ("village", "of"), ("borough", "of"))
_UNIT_STOPWORDS = re.compile(
    _US + r"|\b(?:Federal|Law Enforcement|Police Department|Police|PD|Field Office|Field Division"
    r"|Office of (?:the )?Inspector General|Inspector General|OIG|Office|Department|Dept"
    r"|of|the|DHS|DOJ|ICE|CBP|USDA|DOI|Agency|Service|Unit|Division)\b",
    re.IGNORECASE,
)


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").translate(_QUOTES)
    return _WS_RE.sub(" ", text).strip()


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


def _tidy(text: str) -> str:
    text = _WS_RE.sub(" ", text).strip(_EDGE_PUNCT)
    # empty parentheses/brackets left behind after a removal
    text = re.sub(r"[\(\[]\s*[\)\]]", " ", text)
    return _WS_RE.sub(" ", text).strip(_EDGE_PUNCT)


def _place_words(text: str) -> list[str]:
    """Normalised place words (original case kept) for ids and canonical names."""
    text = _ACRONYM_PAREN_RE.sub(" ", text)
    text = text.replace("&", " and ").replace("'", "")
    out = [_ABBREVIATIONS.get(w.lower(), w) for w in _WORD_RE.findall(text)]
    lowered = [w.lower() for w in out]
    changed = True
    while changed and out:
        changed = False
        for drop in _LEADING_DROPS:
            if len(out) > len(drop) and tuple(lowered[: len(drop)]) == drop:
                out, lowered = out[len(drop):], lowered[len(drop):]
                changed = True
    return out


def _slug(words: Iterable[str]) -> str:
    folded = (re.sub(r"[^a-z0-9]+", "", _fold(w).lower()) for w in words)
    return "-".join(w for w in folded if w)


# ------------------------------------------------------------------------------------ loading


def _read_csv(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    if not path.is_file():
        raise ResolverDataError(f"{path}: data file is missing")
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if not header:
                raise ResolverDataError(f"{path}:1: empty file (expected header {required})")
            header = [h.strip() for h in header]
            missing = [c for c in required if c not in header]
            if missing:
                raise ResolverDataError(
                    f"{path}:1: header is missing column(s) {missing}; expected {list(required)}")
            for row in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
                    continue
                if len(row) != len(header):
                    raise ResolverDataError(
                        f"{path}:{line}: expected {len(header)} columns {header}, found "
                        f"{len(row)} (quote a field that contains a comma)")
                rows.append((line, {h: c.strip() for h, c in zip(header, row, strict=True)}))
    except UnicodeDecodeError as exc:
        raise ResolverDataError(f"{path}: not UTF-8 text ({exc})") from exc
    except csv.Error as exc:
        raise ResolverDataError(f"{path}:{reader.line_num}: CSV syntax error: {exc}") from exc
    return rows


class _Loader:
    def __init__(self, data_dir: Path):
        self.dir = data_dir
        self.placeholders: dict[str, str] = {"US": _US}

    def path(self, name: str) -> Path:
        return self.dir / name

    def need(self, path: Path, line: int, values: dict[str, str], *columns: str) -> None:
        for col in columns:
            if not values.get(col):
                raise ResolverDataError(f"{path}:{line}: column '{col}' is empty")

    def compile(self, path: Path, line: int, values: dict[str, str]) -> re.Pattern[str]:
        pattern, flags = values.get("pattern", ""), values.get("flags", "")
        if not pattern:
            raise ResolverDataError(f"{path}:{line}: column 'pattern' is empty")
        if flags not in _FLAGS:
            raise ResolverDataError(
                f"{path}:{line}: column 'flags' must be empty or 'i', found {flags!r}")

        def expand(m: re.Match[str]) -> str:
            key = m.group(1)
            if key not in self.placeholders:
                raise ResolverDataError(
                    f"{path}:{line}: unknown placeholder {{{key}}} in pattern "
                    f"(known: {sorted(self.placeholders)})")
            return self.placeholders[key]

        expanded = _PLACEHOLDER_RE.sub(expand, pattern)
        try:
            return re.compile(expanded, _FLAGS[flags])
        except re.error as exc:
            raise ResolverDataError(
                f"{path}:{line}: bad regular expression in column 'pattern': {exc}") from exc

    def rules(self, name: str, required: tuple[str, ...], check) -> list[_Rule]:
        path = self.path(name)
        out = []
        for line, values in _read_csv(path, required):
            check(path, line, values)
            out.append(_Rule(name, line, self.compile(path, line, values), values))
        return out


# ------------------------------------------------------------------------------------ resolver


class Resolver:
    """Resolve organisation names with the rules in ``data/resolver``.

    >>> r = Resolver.load()
    >>> r.resolve("ATF Nashville TN").federal_component
    'ATF'
    """

    def __init__(self, *, data_dir: Path, states: dict[str, str], markers: _RuleList,
                 designators: list[_Rule], state_exclusions: list[_Rule], traps: _RuleList,
                 aliases: _RuleList, components: dict[str, FederalComponent],
                 kind_rules: _RuleList):
        self.data_dir = data_dir
        self.states = states
        self.markers = markers
        self.designators = designators
        self.state_exclusions = state_exclusions
        self.traps = traps
        self.aliases = aliases
        self.components = components
        self.kind_rules = kind_rules
        names = sorted(states.values(), key=len, reverse=True)
        self._state_by_name = {n.lower(): c for c, n in states.items()}
        self._state_name_re = re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b",
                                         re.IGNORECASE)
        desig = "|".join(f"(?:{d.regex.pattern})" for d in designators)
        self._followed_by_designator = re.compile(
            r"\s*(?:-\s*)?(?:" + desig + r"|Police|Sheriff|Campus|Const(?:able)?|Veterans"
            r"|Department|Dept)\b", re.IGNORECASE)
        # one regex for all trailing designators: the longest trailing one wins (file order on
        # a tie); group d<i> tells which row matched
        alts = "|".join(
            f"(?P<d{i}>(?{'i' if d.regex.flags & re.IGNORECASE else '-i'}:{d.regex.pattern}))"
            for i, d in enumerate(designators))
        self._designator_end = re.compile(r"(?:^|(?<=[\s\-/]))(?:" + alts + r")\.?\s*$")
        self._exclusion_needs = [_required_literals(r.regex) for r in state_exclusions]
        self._literals = _LiteralIndex(
            [lit for rl in (markers, traps, aliases, kind_rules) for n in rl.needs if n
             for lit in n]
            + [lit for n in self._exclusion_needs if n for lit in n])
        self._cached = lru_cache(maxsize=None)(self._resolve)

    # -- loading -------------------------------------------------------------------------

    @classmethod
    def load(cls, data_dir: Path | str | None = None) -> Resolver:
        """Read and check every data file; raise ResolverDataError naming file and line."""
        data_dir = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
        ld = _Loader(data_dir)

        states: dict[str, str] = {}
        spath = ld.path("states.csv")
        for line, v in _read_csv(spath, ("code", "name", "source")):
            ld.need(spath, line, v, "code", "name", "source")
            code = v["code"]
            if not re.fullmatch(r"[A-Z]{2}", code):
                raise ResolverDataError(f"{spath}:{line}: code must be two capital letters, "
                                        f"found {code!r}")
            if code in states:
                raise ResolverDataError(f"{spath}:{line}: duplicate state code {code}")
            states[code] = v["name"]
        if not states:
            raise ResolverDataError(f"{spath}: no states")
        codes = "|".join(sorted(states))
        names = "|".join(re.escape(n) for n in sorted(states.values(), key=len, reverse=True))
        ld.placeholders["ST"] = rf"(?-i:\b(?:{codes})\b)"
        ld.placeholders["STATE"] = rf"\b(?:{names})\b"
        ld.placeholders["STATE_OR_ST"] = rf"(?:\b(?:{names})\b|(?-i:\b(?:{codes})\b))"

        def check_marker(path, line, v):
            ld.need(path, line, v, "type", "source")
            if v["type"] not in _MARKER_TYPES:
                raise ResolverDataError(f"{path}:{line}: type must be one of {_MARKER_TYPES}, "
                                        f"found {v['type']!r}")

        markers = ld.rules("markers.csv", ("pattern", "flags", "type", "source"), check_marker)

        def check_designator(path, line, v):
            ld.need(path, line, v, "token", "source")
            if not re.fullmatch(r"[A-Za-z]+", v["token"]):
                raise ResolverDataError(f"{path}:{line}: token must be letters only, "
                                        f"found {v['token']!r}")

        designators = ld.rules("designators.csv", ("pattern", "flags", "token", "source"),
                               check_designator)

        def check_exclusion(path, line, v):
            ld.need(path, line, v, "reason")

        exclusions = ld.rules("state_exclusions.csv", ("pattern", "flags", "reason"),
                              check_exclusion)
        for r in exclusions:
            if not any(g.startswith("st") for g in r.regex.groupindex):
                raise ResolverDataError(
                    f"{ld.path(r.file)}:{r.line}: pattern needs a named group (?P<st>...) "
                    "marking the token that is not a state")

        components: dict[str, FederalComponent] = {}
        cpath = ld.path("federal_components.csv")
        for line, v in _read_csv(cpath, ("component", "parent", "canonical_name",
                                         "immigration", "source")):
            ld.need(cpath, line, v, "component", "canonical_name", "immigration", "source")
            if v["immigration"] not in ("0", "1"):
                raise ResolverDataError(f"{cpath}:{line}: immigration must be 0 or 1, "
                                        f"found {v['immigration']!r}")
            if v["component"] in components:
                raise ResolverDataError(f"{cpath}:{line}: duplicate component {v['component']}")
            components[v["component"]] = FederalComponent(
                v["component"], v["parent"], v["canonical_name"], v["immigration"] == "1",
                v["source"])
        if "UNSPECIFIED" not in components:
            raise ResolverDataError(f"{cpath}: component UNSPECIFIED is required (used when "
                                    "only Flock's [Federal] marker is known)")

        def check_trap(path, line, v):
            ld.need(path, line, v, "reason")
            if v["kind"] and v["kind"] not in _NON_FEDERAL_KINDS:
                raise ResolverDataError(
                    f"{path}:{line}: kind must be empty or one of {sorted(_NON_FEDERAL_KINDS)},"
                    f" found {v['kind']!r}")

        traps = ld.rules("traps.csv", ("pattern", "flags", "kind", "reason"), check_trap)

        def check_alias(path, line, v):
            ld.need(path, line, v, "component", "source")
            if v["unit"] not in ("", "drop", "keep"):
                raise ResolverDataError(f"{path}:{line}: column 'unit' must be empty, 'drop' or "
                                        f"'keep', found {v['unit']!r}")
            if v["component"] not in components:
                raise ResolverDataError(
                    f"{path}:{line}: component {v['component']!r} is not in "
                    "federal_components.csv")

        aliases = ld.rules("federal_aliases.csv",
                           ("pattern", "flags", "component", "unit", "source"), check_alias)

        def check_kind(path, line, v):
            ld.need(path, line, v, "kind", "label", "source")
            if v["kind"] not in _NON_FEDERAL_KINDS:
                raise ResolverDataError(
                    f"{path}:{line}: kind must be one of {sorted(_NON_FEDERAL_KINDS)} "
                    f"(federal comes only from federal_aliases.csv), found {v['kind']!r}")

        kind_rules = ld.rules("kind_rules.csv", ("pattern", "flags", "kind", "label", "source"),
                              check_kind)

        return cls(data_dir=data_dir, states=states, markers=_RuleList(markers),
                   designators=designators, state_exclusions=exclusions,
                   traps=_RuleList(traps), aliases=_RuleList(aliases), components=components,
                   kind_rules=_RuleList(kind_rules))

    # -- public API ----------------------------------------------------------------------

    def resolve(self, name: str) -> Resolution:
        """Resolve one raw name (cached)."""
        return self._cached(name if isinstance(name, str) else str(name or ""))

    def resolve_many(self, names: Iterable[str]) -> list[Resolution]:
        return [self.resolve(n) for n in names]

    # -- steps ---------------------------------------------------------------------------

    def _strip_markers(self, text: str, present: frozenset[str]
                       ) -> tuple[str, list[str], bool]:
        found: list[tuple[int, str]] = []
        flock_federal = False
        original = text
        for _ in range(20):
            hit = self.markers.first(text, present)
            if hit is None or not hit[1].group(0).strip():
                break
            rule, m = hit
            published = m.group(0).strip()
            if rule.values["type"] == "federal":
                flock_federal = True
            pos = original.find(published)
            found.append((pos if pos >= 0 else len(original), published))
            text = _tidy(text[: m.start()] + " " + text[m.end():])
            present = self._literals.present(text)
        found.sort(key=lambda t: t[0])
        return text, [p for _, p in found], flock_federal

    def _excluded_spans(self, text: str, present: frozenset[str] | None = None
                        ) -> list[tuple[int, int]]:
        if present is None:
            present = self._literals.present(text)
        spans = []
        for rule, needs in zip(self.state_exclusions, self._exclusion_needs, strict=True):
            if needs is not None and needs.isdisjoint(present):
                continue
            for m in rule.regex.finditer(text):
                for g in rule.regex.groupindex:
                    if g.startswith("st") and m.group(g) is not None:
                        spans.append(m.span(g))
        return spans

    def _find_state(self, text: str, present: frozenset[str] | None = None
                    ) -> tuple[str | None, tuple[int, int] | None, bool]:
        """(code, span of the token to remove or None, from_code)."""
        excluded = self._excluded_spans(text, present)

        def is_excluded(a: int, b: int) -> bool:
            return any(a < e2 and e1 < b for e1, e2 in excluded)

        all_caps = not any(ch.islower() for ch in text)
        best: tuple[int, int, str, tuple[int, int]] | None = None
        for m in _PAREN_CODE_RE.finditer(text):
            code = m.group(1).upper()
            if code in self.states and not is_excluded(*m.span(1)):
                cand = (4, m.start(), code, m.span())
                if best is None or cand[:2] >= best[:2]:
                    best = cand
        for m in _CODE_TOKEN_RE.finditer(text):
            code = m.group(1)
            a, b = m.span(1)
            if code not in self.states or is_excluded(a, b):
                continue
            if a > 0 and text[a - 1] == "(" and text[b:b + 1] == ")":
                continue  # counted above
            after = text[b:]
            span = (a, b)
            if a == 0 and _DASH_AFTER_RE.match(after):
                score = 3
                dm = re.match(r"\s*-\s*", after)
                span = (a, b + (dm.end() if dm else 0))
            elif self._followed_by_designator.match(after):
                score = 3
            elif not after.strip(" )]-.,"):
                score = 2
            else:
                score = 1
            if all_caps and score < 2:
                continue
            cand = (score, a, code, span)
            if best is None or cand[:2] >= best[:2]:
                best = cand
        if best is not None:
            return best[2], best[3], True
        # a code typed in title case right before the closing designator ("Crestview Fl PD"):
        # only there, only when nothing upper-case was found, never an abbreviation ("Co SO")
        for m in _TITLE_CODE_RE.finditer(text):
            code = m.group(1).upper()
            if (m.start(1) > 0 and code in self.states and m.group(1).lower() not in
                    _ABBREVIATIONS and not is_excluded(*m.span(1))
                    and self._designator_end.fullmatch(text[m.end(1):].strip()) is not None):
                return code, m.span(1), True
        for m in self._state_name_re.finditer(text):
            if not is_excluded(*m.span()):
                return self._state_by_name[m.group(1).lower()], None, False
        return None, None, False

    def _split_designator(self, rest: str) -> tuple[str, str | None]:
        rx = self._designator_end
        m = rx.search(rest)
        if not m or m.start() == 0:  # a name that is only a designator keeps it as its place
            return rest, None
        token = self.designators[int(m.lastgroup[1:])].values["token"]
        place = _tidy(rest[: m.start()])
        # "Clark-Pleasant Police Department - IN PD": drop a repeated designator
        for _ in range(3):
            m2 = rx.search(place)
            if not m2 or m2.start() == 0:
                break
            if self.designators[int(m2.lastgroup[1:])].values["token"] != token:
                break
            place = _tidy(place[: m2.start()])
        return place, token

    def _resolve(self, raw: str) -> Resolution:
        cleaned = _clean(raw)
        present = self._literals.present(cleaned)
        core, markers, flock_fed = self._strip_markers(cleaned, present)
        markers_t = tuple(markers)
        if not core:  # "DO NOT USE", "[DEACTIVATED] - demo": an id of its own, never merged
            junk_id = "unnamed-" + (_slug(_place_words(cleaned)) or "blank")
            return Resolution(raw, "", markers_t, flock_fed, junk_id, cleaned, "unresolved",
                              None, None, False, "unresolved:empty name after removing markers",
                              "unresolved")

        if core != cleaned:
            present = self._literals.present(core)
        state, span, from_code = self._find_state(core, present)
        rest = core
        if span is not None:
            rest = _tidy(core[: span[0]] + " " + core[span[1]:])

        trap = self.traps.first(core, present)
        alias = None if trap is not None else self.aliases.first(core, present)

        if alias is not None or (trap is None and flock_fed):
            return self._federal(raw, core, markers_t, flock_fed, state, span, alias)

        kind = None
        rule_parts = []
        note = ""
        if trap is not None:
            trule = trap[0]
            rule_parts.append(f"trap:{trule.ref}")
            if flock_fed:
                rule_parts[-1] += " (overrides Flock [Federal] marker)"
            note = trule.values["reason"]
            if trule.values["kind"]:
                kind = trule.values["kind"]
        if kind is None:
            hit = self.kind_rules.first(core, present)
            if hit is not None:
                krule = hit[0]
                kind = krule.values["kind"]
                rule_parts.append(f"kind:{krule.ref}:{krule.values['label']}")
                note = note or krule.values["source"]

        place, designator = self._split_designator(rest)
        words = _place_words(place)
        st = state.lower() if (state and from_code) else ""
        agency_id = "-".join(p for p in (_slug(words), st, (designator or "").lower()) if p)
        if not agency_id:
            agency_id = _slug(_place_words(core)) or "unnamed"
        canonical = " ".join(p for p in (" ".join(words),
                                         state if (state and from_code) else "",
                                         designator or "") if p)
        if kind is None:
            rule_parts.append("unresolved:no kind rule matched")
            return Resolution(raw, core, markers_t, flock_fed, agency_id, canonical or core,
                              "unresolved", state, None, False, "; ".join(rule_parts),
                              "unresolved", note)
        return Resolution(raw, core, markers_t, flock_fed, agency_id, canonical or core, kind,
                          state, None, False, "; ".join(rule_parts), "resolved", note)

    def _federal(self, raw, core, markers_t, flock_fed, state, span, alias) -> Resolution:
        if alias is not None:
            rule, m = alias
            comp = self.components[rule.values["component"]]
            rule_s = f"alias:{rule.ref}"
            if flock_fed:
                rule_s += " (Flock [Federal] marker agrees)"
            note = rule.values["source"]
            cut = [] if rule.values["unit"] == "keep" else [m.span()]
        else:
            comp = self.components["UNSPECIFIED"]
            rule_s = ("flock_marker:[Federal] (no alias matched: component not identified; "
                      "review)")
            note = self.components["UNSPECIFIED"].source
            cut = []
        if span is not None:
            cut.append(span)
        text = core
        for a, b in sorted(cut, reverse=True):
            text = text[:a] + " " + text[b:]
        text = _tidy(text)
        text, _ = self._split_designator(text)
        text = _UNIT_STOPWORDS.sub(" ", text)
        # the component's own acronyms ("FBI Safe Streets Task Force" -> no "fbi" unit)
        own = "|".join(re.escape(p) for p in comp.component.split("-") if len(p) > 1)
        if own:
            text = re.sub(rf"\b(?:{own})\b", " ", text)
        text = _tidy(text)
        unit_words = _place_words(text)
        unit_slug = _slug(unit_words)
        comp_slug = comp.component.lower()
        if unit_slug:
            agency_id = f"fed-{comp_slug}-{unit_slug}"
        elif state:
            agency_id = f"fed-{comp_slug}-{state.lower()}"
        else:
            agency_id = f"fed-{comp_slug}"
        canonical = comp.canonical_name
        if unit_words:
            canonical += " - " + " ".join(unit_words)
        if state:
            canonical += f" ({state})"
        return Resolution(raw, core, markers_t, flock_fed, agency_id, canonical, "federal",
                          state, comp.component, comp.immigration, rule_s, "resolved", note)


@lru_cache(maxsize=1)
def default_resolver() -> Resolver:
    """The resolver loaded from the repository's data/resolver (loaded once)."""
    return Resolver.load()
