"""The marts as a graph of SQL models: every CREATE TABLE / CREATE VIEW statement of sql/marts/*.sql is one model
(one table a user queries, one Dagster asset), with the tables it reads, run in dependency order.

A model's reads are the relations named after FROM and JOIN (and in a FROM list), less its CTEs; each read is
either another model's target or a source table the upstream layers write (ingestion, decoding, replay, peers).
Models are ordered topologically, ties broken by file and statement order; a cycle, a read that is neither a
model nor a source, or two models creating the same table is an error naming the files.  A `CREATE TABLE IF NOT
EXISTS name (columns)` statement is set-up (it makes sure a source table exists on an older warehouse): it runs
first and is no model.  A model's description is the comment block above its statement (the file's header for
the first one; a statement with no comment of its own keeps the one before it).

A table may declare, in its own comment block, that it is maintained incrementally: a line
`-- incremental: <key>` or `-- incremental: <key> (<seconds column>)`, where <key> is the column the rows are
bucketed by: `hour` or `day` (a timestamp or date floored to that unit) or `block_number`; the optional second
column holds the same rows' Unix time (e.g. block_timestamp), filtered too so that DuckDB can skip row groups.
The runner (pipelines/marts/assets.py) then rebuilds only the buckets at and after what changed; the file says why
that is exact for the model.  The directive is no part of the description; on a view, twice, or malformed it is an
error naming the file.

Why our own runner (measured 2026-12-01 in a scratch venv with the project's pins, see build_marts): neither dbt
(dbt-duckdb + dagster-dbt) nor SQLMesh was kept; the figures and the reason are in the comment on build_marts.
"""
import re
from dataclasses import dataclass, field
from pathlib import Path

CREATE = re.compile(r"^\s*create\s+(?:or\s+replace\s+)?(?:temp(?:orary)?\s+)?(table|view)\s+(if\s+not\s+exists\s+)?"
                    r"([\w.\"]+)", re.I)
# function calls whose arguments may hold a FROM that is not a table: extract(year FROM ts), trim(x FROM y)
_FROM_IN_CALL = {"extract", "trim", "substring", "overlay", "position"}
_CLAUSE = {"where", "group", "order", "having", "limit", "window", "qualify", "union", "except", "intersect", "on",
           "using", "join", "left", "right", "inner", "outer", "full", "cross", "asof", "natural", "positional",
           "anti", "semi", "lateral", "select", "from", "returning", "sample", "tablesample", "pivot", "unpivot"}


class MartGraphError(ValueError):
    """The marts cannot be ordered: a cycle, a table nobody creates, or a table created twice."""


INCREMENTAL_KEYS = {"hour": "hour", "day": "day", "block_number": "block"}  # key column -> bucket unit
_DIRECTIVE = re.compile(r"^\s*--\s*incremental\s*:(.*)$", re.I | re.M)
_DIRECTIVE_BODY = re.compile(r"^\s*(\w+)\s*(?:\(\s*(\w+)\s*\))?\s*$")


@dataclass(frozen=True)
class Incremental:
    """How a table is maintained incrementally: rows are bucketed by `key` (unit hour, day or block); `seconds`,
    if any, is a column holding each row's Unix time, filtered beside the key so that DuckDB can skip row groups."""
    key: str
    unit: str
    seconds: str | None = None


@dataclass
class Model:
    name: str  # the table or view it creates (lower case)
    kind: str  # "table" or "view"
    file: str  # the .sql file's name
    sql: str  # the statement, comments included
    reads: list[str] = field(default_factory=list)  # relations it reads (models and sources), sorted
    description: str = ""
    position: tuple[int, int] = (0, 0)  # (file index, statement index): the tie-break of the order
    incremental: Incremental | None = None  # the `-- incremental:` directive of a table, if any
    query: str | None = None  # a CREATE ... TABLE x AS <query>: the query (what an incremental build filters)


@dataclass
class MartGraph:
    models: list[Model]  # in build order
    setup: list[str]  # CREATE TABLE IF NOT EXISTS statements, run before the models
    sources: frozenset[str]

    def by_name(self) -> dict[str, Model]:
        return {m.name: m for m in self.models}

    def upstream_of(self, names) -> list[Model]:
        """The models the given ones need (themselves included), in build order."""
        need, by = set(), self.by_name()
        stack = [n for n in names]
        while stack:
            n = stack.pop()
            if n in need or n not in by:
                continue
            need.add(n)
            stack += by[n].reads
        return [m for m in self.models if m.name in need]


# --- a small SQL tokenizer: enough to find statements, comments, names and parentheses --------------------------

_TOKEN = re.compile(r"""
    (?P<comment>--[^\n]*|/\*.*?\*/)
  | (?P<string>'(?:[^']|'')*')
  | (?P<qident>"(?:[^"]|"")*")
  | (?P<ident>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<number>\d+(?:\.\d*)?)
  | (?P<semi>;)
  | (?P<punct>[(),.])
  | (?P<space>\s+)
  | (?P<other>.)
""", re.X | re.S)


def _tokens(sql: str):
    for m in _TOKEN.finditer(sql):
        kind = m.lastgroup
        if kind == "space":
            continue
        text = m.group()
        if kind == "qident":
            kind, text = "ident", text[1:-1].replace('""', '"')
        yield kind, text, m.start()


def split_statements(sql: str) -> list[tuple[str, str]]:
    """(comment block above the statement, the statement) for every statement of a file."""
    out, start, comments, body_started = [], 0, [], False
    for kind, text, pos in _tokens(sql):
        if kind == "comment":
            if not body_started:
                comments.append(text)
            continue
        if kind == "semi":
            if body_started:
                out.append(("\n".join(comments), sql[start:pos + 1].strip()))
            comments, body_started = [], False
            start = pos + 1
            continue
        body_started = True
    if body_started and sql[start:].strip():
        out.append(("\n".join(comments), sql[start:].strip()))
    return out


def _comment_text(block: str) -> str:
    lines = []
    for c in block.splitlines():
        c = c.strip()
        if c.startswith("--"):
            c = c[2:]
            lines.append(c[1:] if c.startswith(" ") else c)
        elif c:
            lines.append(c.strip("/* "))
    return "\n".join(lines).strip()


def _name(parts: list[str]) -> str:
    return parts[-1].lower()  # memory.main.x -> x


def reads_of(statement: str) -> set[str]:
    """The relations a statement reads: names after FROM (and the rest of a FROM list) and JOIN, less its CTEs,
    subqueries and table functions."""
    toks = [(k, t) for k, t, _ in _tokens(statement) if k != "comment"]
    low = [t.lower() if k == "ident" else t for k, t in toks]
    ctes, reads = set(), set()
    # CTE names: `name AS (` after WITH, RECURSIVE or a comma
    for i in range(len(toks) - 2):
        if toks[i][0] == "ident" and low[i + 1] == "as" and low[i + 2] == "(" and i > 0 and \
                low[i - 1] in ("with", "recursive", ","):
            ctes.add(low[i])
    calls = []  # per open parenthesis: the identifier before it (a function name) or None

    def ref_at(j: int) -> tuple[str | None, int]:
        """A table reference starting at token j: (name or None for a subquery / table function, index after)."""
        if j >= len(toks) or toks[j][0] != "ident" or low[j] in _CLAUSE:
            return None, j
        parts = [toks[j][1]]
        j += 1
        while j + 1 < len(toks) and low[j] == "." and toks[j + 1][0] == "ident":
            parts.append(toks[j + 1][1])
            j += 2
        if j < len(toks) and low[j] == "(":  # a table function: read_parquet(...), range(...)
            return None, j
        return _name(parts), j

    def skip_alias(j: int) -> int:
        if j < len(toks) and low[j] == "as":
            j += 1
        if j < len(toks) and toks[j][0] == "ident" and low[j] not in _CLAUSE:
            j += 1
            if j < len(toks) and low[j] == "(":  # alias with column names: t(a, b)
                depth = 0
                while j < len(toks):
                    depth += (low[j] == "(") - (low[j] == ")")
                    j += 1
                    if depth == 0:
                        break
        return j

    for i, (k, t) in enumerate(toks):
        w = low[i]
        if w == "(":
            calls.append(low[i - 1] if i and toks[i - 1][0] == "ident" else None)
            continue
        if w == ")":
            if calls:
                calls.pop()
            continue
        if k != "ident":
            continue
        if w == "join":
            name, _ = ref_at(i + 1)
            if name:
                reads.add(name)
        elif w == "from":
            if i and low[i - 1] == "distinct":  # IS [NOT] DISTINCT FROM
                continue
            if calls and calls[-1] in _FROM_IN_CALL:
                continue
            j = i + 1
            while True:
                name, j = ref_at(j)
                if name:
                    reads.add(name)
                elif j < len(toks) and low[j] == "(":  # a subquery or table function (its own FROMs are found
                    depth = 0  # by this loop): skip it, a FROM list may go on after it
                    while j < len(toks):
                        depth += (low[j] == "(") - (low[j] == ")")
                        j += 1
                        if depth == 0:
                            break
                else:
                    break
                j = skip_alias(j)
                if j < len(toks) and low[j] == ",":
                    j += 1
                    continue
                break
    return reads - ctes


def _directive(comment: str, where: str) -> tuple[Incremental | None, str]:
    """The `-- incremental:` directive of a comment block, and the block without it."""
    found = _DIRECTIVE.findall(comment)
    if not found:
        return None, comment
    if len(found) > 1:
        raise MartGraphError(f"{where}: `-- incremental:` is given {len(found)} times")
    m = _DIRECTIVE_BODY.match(found[0])
    if not m or m.group(1).lower() not in INCREMENTAL_KEYS:
        raise MartGraphError(f"{where}: `-- incremental:{found[0]}` should read `-- incremental: <key>` or "
                             f"`-- incremental: <key> (<seconds column>)`, the key one of "
                             f"{', '.join(INCREMENTAL_KEYS)}")
    key = m.group(1).lower()
    if m.group(2) and INCREMENTAL_KEYS[key] == "block":
        raise MartGraphError(f"{where}: a block_number key needs no seconds column")
    rest = "\n".join(line for line in comment.splitlines() if not _DIRECTIVE.match(line))
    return Incremental(key, INCREMENTAL_KEYS[key], m.group(2).lower() if m.group(2) else None), rest


def query_of(statement: str) -> str | None:
    """The query of `CREATE [OR REPLACE] TABLE name AS <query>` (comments above it dropped), else None."""
    toks = [(k, t, p) for k, t, p in _tokens(statement) if k != "comment"]
    for i, (k, t, p) in enumerate(toks):
        if k == "ident" and t.lower() == "as":
            if i + 1 < len(toks) and toks[i - 1][0] == "ident" and toks[i - 1][1].lower() not in (
                    "table", "view", "exists"):
                return statement[toks[i + 1][2]:].strip().rstrip(";").rstrip()
            return None
        if t == "(":  # a column list or a query before any AS: not the form an incremental build filters
            return None
    return None


def parse_file(path: Path, file_index: int = 0) -> tuple[list[Model], list[str]]:
    """The models and set-up statements of one file."""
    models, setup, last_comment = [], [], ""
    for n, (comment, stmt) in enumerate(split_statements(path.read_text())):
        incremental, own = _directive(comment, f"{path.name}, statement {n + 1}")
        text = _comment_text(own) or last_comment
        last_comment = text
        m = CREATE.match(" ".join(t for k, t, _ in _tokens(stmt) if k != "comment"))
        if not m:
            raise MartGraphError(f"{path.name}, statement {n + 1}: a mart file holds CREATE TABLE / CREATE VIEW "
                                 f"statements only, found: {stmt[:80]!r}")
        kind, if_not_exists, target = m.group(1).lower(), bool(m.group(2)), _name(m.group(3).replace('"', "").split("."))
        if if_not_exists and kind == "table" and not re.search(r"\bas\s*(\(\s*)?(select|with|from)\b", stmt, re.I):
            setup.append(stmt)  # CREATE TABLE IF NOT EXISTS x (columns): makes sure a source table exists
            continue
        reads = reads_of(stmt)
        query = query_of(stmt) if kind == "table" else None
        if incremental and kind != "table":
            raise MartGraphError(f"{path.name}: {target} is a {kind}: only a table is built incrementally")
        if incremental and query is None:
            raise MartGraphError(f"{path.name}: {target} is incremental but not `CREATE TABLE {target} AS <query>`")
        models.append(Model(target, kind, path.name, (comment + "\n" if comment else "") + stmt, sorted(reads),
                            text, (file_index, n), incremental, query))
    return models, setup


def load_graph(sql_dir: Path, sources) -> MartGraph:
    """Every model of sql_dir/*.sql in build order.  Raises MartGraphError on a cycle, a read that is no model and
    no source, or a table created twice."""
    sources = frozenset(s.lower() for s in sources)
    models, setup = [], []
    for i, f in enumerate(sorted(Path(sql_dir).glob("*.sql"))):
        m, s = parse_file(f, i)
        models += m
        setup += s
    return MartGraph(order(models, sources), setup, sources)


def order(models: list[Model], sources: frozenset[str]) -> list[Model]:
    by: dict[str, Model] = {}
    for m in models:
        if m.name in by:
            raise MartGraphError(f"{m.name} is created twice: in {by[m.name].file} and in {m.file}")
        if m.name in sources:
            raise MartGraphError(f"{m.file} creates {m.name}, a table an upstream step writes")
        by[m.name] = m
    missing = [(m, r) for m in models for r in m.reads if r not in by and r not in sources]
    if missing:
        raise MartGraphError("unknown tables: " + "; ".join(
            f"{m.name} ({m.file}) reads {r}, which no mart creates and no upstream step writes" for m, r in missing))
    # Kahn's algorithm, always taking the earliest ready model (file, then statement order)
    indeg = {m.name: sum(r in by for r in m.reads) for m in models}
    users: dict[str, list[str]] = {m.name: [] for m in models}
    for m in models:
        for r in m.reads:
            if r in by:
                users[r].append(m.name)
    ready = sorted((m.position, m.name) for m in models if indeg[m.name] == 0)
    out = []
    while ready:
        _, n = ready.pop(0)
        out.append(by[n])
        for u in users[n]:
            indeg[u] -= 1
            if indeg[u] == 0:
                ready.append((by[u].position, u))
                ready.sort()
    if len(out) < len(models):
        raise MartGraphError("a cycle among the marts: " + _cycle({n for n, d in indeg.items() if d > 0}, by))
    return out


def _cycle(left: set[str], by: dict[str, Model]) -> str:
    """One cycle among the models left over, as `a (f.sql) -> b (g.sql) -> a`."""
    n = min(left)
    path, seen = [], {}
    while n not in seen:
        seen[n] = len(path)
        path.append(n)
        n = next(r for r in by[n].reads if r in left)
    loop = path[seen[n]:] + [n]
    return " -> ".join(f"{x} ({by[x].file})" for x in loop[:-1]) + f" -> {loop[-1]}"
