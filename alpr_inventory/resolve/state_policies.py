"""State policies on DMV (Nlets) and ALPR data flows to federal immigration enforcement.

``data/state_policies.csv`` holds one row per state and DC; ``data/state_policies.md`` explains
the columns and how to correct a row.  ``load_state_policies`` reads and checks the file; any
problem raises ``StatePolicyError`` naming the file and line (``<path>:<line>: <what>``), every
problem at once.

Checks: the header; a two-letter code for each of the 50 states and DC, once each, all present;
the allowed values of the yes/no columns; the form of ``nlets_blocked_since`` and ``as_of``;
and that every claim that is not ``unknown`` has at least one source tagged for it
(``nlets: <ref>``, ``dmv: <ref>``, ``alpr: <ref>``; a ref is an http(s) URL or
``corpus:<path>#<section>``, a file of the shared corpus and a heading in it).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from parsers import datafiles

__all__ = [
    "BLOCKED_VALUES",
    "COLUMNS",
    "DEFAULT_PATH",
    "RESTRICTED_VALUES",
    "STATES",
    "PolicySource",
    "StatePolicy",
    "StatePolicyError",
    "load_state_policies",
    "policies_by_state",
]

DEFAULT_PATH = datafiles.DATA_DIR / "state_policies.csv"

COLUMNS = (
    "state",
    "nlets_ice_hsi_dmv_blocked",
    "nlets_blocked_since",
    "dmv_law",
    "dmv_law_citation",
    "alpr_sharing_law",
    "alpr_sharing_citation",
    "alpr_federal_sharing_restricted",
    "alpr_out_of_state_restricted",
    "notes",
    "sources",
    "as_of",
)
BLOCKED_VALUES = ("yes", "no", "partial", "unknown")
RESTRICTED_VALUES = ("yes", "no", "unknown")
# the 50 states and DC (USPS codes)
STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
    "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY".split())
# which columns each source tag vouches for
CLAIM_COLUMNS = {
    "nlets": ("nlets_ice_hsi_dmv_blocked", "nlets_blocked_since"),
    "dmv": ("dmv_law", "dmv_law_citation"),
    "alpr": ("alpr_sharing_law", "alpr_sharing_citation", "alpr_federal_sharing_restricted",
             "alpr_out_of_state_restricted"),
}
NOT_A_CLAIM = {"unknown", "n/a"}

_ISO_DATE = r"\d{4}-\d{2}-\d{2}"
_SINCE_RE = re.compile(rf"^(?:\d{{4}}|\d{{4}}-\d{{2}}|{_ISO_DATE}|by {_ISO_DATE})$")
_SOURCE_SPLIT = re.compile(r"\s+;\s+")
_SOURCE_RE = re.compile(r"^(?P<claim>[a-z]+):\s+(?P<ref>\S.*)$")
_URL_RE = re.compile(r"^https?://\S+$")
_CORPUS_RE = re.compile(r"^corpus:(?P<path>[^#\s][^#]*)#(?P<section>\S.*)$")


class StatePolicyError(ValueError):
    """The state policy file is malformed: ``<path>:<line>: <what>`` for each problem."""


@dataclass(frozen=True)
class PolicySource:
    claim: str  # nlets | dmv | alpr
    ref: str  # a URL or corpus:<path>#<section>

    @property
    def is_url(self) -> bool:
        return self.ref.startswith(("http://", "https://"))


@dataclass(frozen=True)
class StatePolicy:
    """One row of data/state_policies.csv (values exactly as in the file)."""

    state: str
    nlets_ice_hsi_dmv_blocked: str
    nlets_blocked_since: str
    dmv_law: str
    dmv_law_citation: str
    alpr_sharing_law: str
    alpr_sharing_citation: str
    alpr_federal_sharing_restricted: str
    alpr_out_of_state_restricted: str
    notes: str
    sources: tuple[PolicySource, ...]
    as_of: str
    line: int = 0  # line of the file the row starts on
    sources_raw: str = field(default="", compare=False)

    def sources_for(self, claim: str) -> list[str]:
        """The refs given for one claim group (nlets, dmv, alpr)."""
        return [s.ref for s in self.sources if s.claim == claim]


def _check_row(values: dict[str, str], line: int, where: str) -> tuple[list[str],
                                                                       list[PolicySource]]:
    errors: list[str] = []

    def err(msg: str) -> None:
        errors.append(f"{where}:{line}: {msg}")

    state = values["state"]
    if not re.fullmatch(r"[A-Z]{2}", state):
        err(f"state must be a two-letter capital code, found {state!r}")
    elif state not in STATES:
        err(f"state {state!r} is not one of the 50 states or DC")
    for col in ("nlets_ice_hsi_dmv_blocked",):
        if values[col] not in BLOCKED_VALUES:
            err(f"{col} must be one of {'/'.join(BLOCKED_VALUES)}, found {values[col]!r}")
    for col in ("alpr_federal_sharing_restricted", "alpr_out_of_state_restricted"):
        if values[col] not in RESTRICTED_VALUES:
            err(f"{col} must be one of {'/'.join(RESTRICTED_VALUES)}, found {values[col]!r}")
    blocked, since = values["nlets_ice_hsi_dmv_blocked"], values["nlets_blocked_since"]
    if since not in NOT_A_CLAIM and not _SINCE_RE.match(since):
        err("nlets_blocked_since must be unknown, n/a, YYYY, YYYY-MM, YYYY-MM-DD or "
            f"'by YYYY-MM-DD', found {since!r}")
    if since == "n/a" and blocked != "no":
        err(f"nlets_blocked_since is n/a but nlets_ice_hsi_dmv_blocked is {blocked!r} "
            "(n/a only when it is no)")
    if since not in NOT_A_CLAIM and blocked not in ("yes", "partial"):
        err(f"nlets_blocked_since gives {since!r} but nlets_ice_hsi_dmv_blocked is "
            f"{blocked!r}")
    for col in ("dmv_law", "dmv_law_citation", "alpr_sharing_law", "alpr_sharing_citation"):
        if not values[col].strip():
            err(f"{col} is empty: write unknown when nothing is known")

    sources: list[PolicySource] = []
    raw = values["sources"].strip()
    for part in (_SOURCE_SPLIT.split(raw) if raw else []):
        m = _SOURCE_RE.match(part.strip())
        if not m:
            err(f"source {part!r} must be '<claim>: <URL or corpus:path#section>'")
            continue
        claim, ref = m.group("claim"), m.group("ref").strip()
        if claim not in CLAIM_COLUMNS:
            err(f"source {part!r}: claim must be one of {', '.join(CLAIM_COLUMNS)}")
            continue
        if not (_URL_RE.match(ref) or _CORPUS_RE.match(ref)):
            err(f"source {part!r}: the reference must be an http(s) URL without spaces or "
                "corpus:<path>#<section>")
            continue
        sources.append(PolicySource(claim, ref))
    claims = {s.claim for s in sources}
    any_claim = False
    for claim, cols in CLAIM_COLUMNS.items():
        made = [c for c in cols if values[c] not in NOT_A_CLAIM]
        if made:
            any_claim = True
            if claim not in claims:
                err(f"{', '.join(made)} {'is' if len(made) == 1 else 'are'} not unknown but no "
                    f"'{claim}: ...' source is given")
    as_of = values["as_of"]
    if as_of == "unknown":
        if any_claim:
            err("as_of is unknown but the row makes claims: give the date of its newest source")
    elif not re.fullmatch(_ISO_DATE, as_of):
        err(f"as_of must be an ISO date (YYYY-MM-DD) or unknown, found {as_of!r}")
    return errors, sources


def load_state_policies(path: str | Path | None = None) -> list[StatePolicy]:
    """Read and validate data/state_policies.csv (or ``path``); rows in file order."""
    p = Path(path) if path is not None else DEFAULT_PATH
    where = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise StatePolicyError(f"{where}: cannot read: {exc}") from exc
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    errors: list[str] = []
    try:
        header = next(reader)
    except StopIteration:
        raise StatePolicyError(f"{where}:1: empty file") from None
    if tuple(h.strip() for h in header) != COLUMNS:
        missing = [c for c in COLUMNS if c not in header]
        extra = [h for h in header if h not in COLUMNS]
        raise StatePolicyError(f"{where}:1: header must be {','.join(COLUMNS)} "
                               f"(missing {missing}, unexpected {extra})")
    out: list[StatePolicy] = []
    seen: dict[str, int] = {}
    line = reader.line_num + 1  # the line the next record starts on
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(f"{where}:{line}: {exc}")
            break
        start, line = line, reader.line_num + 1
        if not record or not any(c.strip() for c in record):
            continue  # a blank line
        if len(record) != len(COLUMNS):
            errors.append(f"{where}:{start}: {len(record)} fields, expected {len(COLUMNS)} "
                          "(a comma inside a value needs double quotes)")
            continue
        values = dict(zip(COLUMNS, (c.strip() for c in record), strict=True))
        row_errors, sources = _check_row(values, start, where)
        errors.extend(row_errors)
        st = values["state"]
        if st in seen:
            errors.append(f"{where}:{start}: state {st} already on line {seen[st]}")
        seen.setdefault(st, start)
        if not row_errors:
            out.append(StatePolicy(
                state=st, nlets_ice_hsi_dmv_blocked=values["nlets_ice_hsi_dmv_blocked"],
                nlets_blocked_since=values["nlets_blocked_since"], dmv_law=values["dmv_law"],
                dmv_law_citation=values["dmv_law_citation"],
                alpr_sharing_law=values["alpr_sharing_law"],
                alpr_sharing_citation=values["alpr_sharing_citation"],
                alpr_federal_sharing_restricted=values["alpr_federal_sharing_restricted"],
                alpr_out_of_state_restricted=values["alpr_out_of_state_restricted"],
                notes=values["notes"], sources=tuple(sources), as_of=values["as_of"],
                line=start, sources_raw=values["sources"]))
    missing = sorted(STATES - set(seen))
    if missing and not errors:
        errors.append(f"{where}: no row for {', '.join(missing)} (one row per state and DC; "
                      "write unknown where nothing is known)")
    if errors:
        raise StatePolicyError("\n".join(errors))
    return out


def policies_by_state(policies: list[StatePolicy] | None = None) -> dict[str, StatePolicy]:
    """State code -> policy (loads the default file when ``policies`` is None)."""
    return {p.state: p for p in (policies if policies is not None else load_state_policies())}
