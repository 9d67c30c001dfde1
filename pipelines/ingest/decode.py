"""Vectorised decoding of raw logs into one typed frame per event (docs/protocol-rules.md), exact to the last bit.

Static-layout events are decoded with Polars: the hex data is turned into bytes once, and each 32-byte word is
sliced and reinterpreted as big-endian integers; no per-log ABI call.  Each word becomes:
- address: lowercase "0x" + 40 hex; bool: Boolean; bytes32: hex text;
- types of at most 63 bits: Int64 (signed types sign-extended);
- wider types: exact decimal text, read as a big-endian Int128 from the word's low half only for rows whose
  high half is the low half's sign extension (the value provably fits), and by Python's int for the rare rest.
  The store casts that text to HUGEINT where the ABI type fits it, and keeps VARCHAR for uint128+/int256
  (docs/architecture.md, "Exact storage").
A log whose topic count, data length or padding does not fit its event goes to quarantine with the reason;
a log with an unknown topic0 does too.  web3's process_log is the test oracle for every event.
"""
import functools
from dataclasses import dataclass

import polars as pl
from eth_abi import decode as abi_decode

from models.events import EVENTS, EventSpec

from ..core.store import META, RAW_COLUMNS, is_signed, sql_type, type_bits

_TOPIC0S = {e.topic0 for e in EVENTS}
_BY_TOPIC0 = {e.topic0: e for e in EVENTS}


# Words are 32-byte Binary slices: the data is hex-decoded once per log, never re-parsed per field.
_U64 = dict(dtype=pl.UInt64, endianness="big")


def _limb(word: pl.Expr, i: int) -> pl.Expr:
    return word.bin.slice(8 * i, 8).bin.reinterpret(**_U64)


def _wide_text(word: pl.Expr, signed: bool) -> tuple[pl.Expr, pl.Expr]:
    """(decimal text where the value fits in Int128, whether it fits).  The rest is fixed up per row later."""
    low = word.bin.slice(16, 16).bin.reinterpret(dtype=pl.Int128, endianness="big")
    high = word.bin.slice(0, 16)
    fits = (high == pl.lit(b"\x00" * 16)) & (low >= 0)
    if signed:
        fits = fits | ((high == pl.lit(b"\xff" * 16)) & (low < 0))
    return pl.when(fits).then(low.cast(pl.Utf8)), fits


def _slow_text(word: bytes, signed: bool) -> str:
    v = int.from_bytes(word, "big")
    if signed and v >> 255:
        v -= 1 << 256
    return str(v)


def _field_expr(word: pl.Expr, abi_type: str):
    """(value expression, fits expression or None)."""
    if abi_type == "address":
        return pl.lit("0x") + word.bin.slice(12, 20).bin.encode("hex"), None
    if abi_type == "bytes32":
        return pl.lit("0x") + word.bin.encode("hex"), None
    if abi_type == "bool":
        return _limb(word, 3) == 1, None
    signed = is_signed(abi_type)
    if sql_type(abi_type) == "BIGINT":
        v = _limb(word, 3)
        if signed:
            v = v.reinterpret(signed=True)
            return v, None  # padding was checked: the 64-bit tail is the value, sign-extended
        return v.cast(pl.Int64), None
    return _wide_text(word, signed)


def _padding_ok(word: pl.Expr, abi_type: str) -> pl.Expr:
    """The bytes above the type's width must be zero (or sign extension for intN)."""
    if abi_type == "bytes32":
        return pl.lit(True)
    bits = 160 if abi_type == "address" else (1 if abi_type == "bool" else type_bits(abi_type))
    if bits >= 256:
        return pl.lit(True)
    if abi_type == "bool":
        return (_limb(word, 0) == 0) & (_limb(word, 1) == 0) & (_limb(word, 2) == 0) & (_limb(word, 3) <= 1)
    k = (256 - bits) // 8  # whole bytes of padding (every type here is a multiple of 8 bits)
    lead = word.bin.slice(0, k)
    zeros = lead == pl.lit(b"\x00" * k)
    if not is_signed(abi_type):
        return zeros
    neg = word.bin.slice(k, 1).bin.reinterpret(dtype=pl.UInt8) >= 128
    return (zeros & ~neg) | ((lead == pl.lit(b"\xff" * k)) & neg)


def _words(spec: EventSpec) -> dict:
    words = {}
    ti = di = 0
    for f in spec.fields:
        if f.indexed:
            ti += 1
            words[f.name] = pl.col(f"_t{ti}")
        else:
            words[f.name] = pl.col("_data").bin.slice(32 * di, 32)
            di += 1
    return words


_NTOPICS = sum(pl.col(f"_t{i}").is_not_null().cast(pl.Int32) for i in (1, 2, 3))


@dataclass(frozen=True)
class _StaticPlan:
    """One static event's decoding as Polars expressions, built once: building them per call cost ~50 ms."""
    shape_ok: pl.Expr
    shape_reason: pl.Expr
    pad_ok: pl.Expr
    pad_reason: pl.Expr
    columns: tuple[pl.Expr, ...]  # META, the values, and for wide values whether they fit and their words
    wide: tuple[tuple[str, bool], ...]  # (field, signed) of the values that may need the exact fix-up


@functools.cache
def _static_plan(spec: EventSpec) -> _StaticPlan:
    want = 32 * len(spec.data_fields)
    words = _words(spec)
    exprs, fits, wide = [], [], []
    for f in spec.fields:
        value, fit = _field_expr(words[f.name], f.abi_type)
        exprs.append(value.alias(f.name))
        if fit is not None:
            fits += [fit.alias("_fit_" + f.name), words[f.name].alias("_w_" + f.name)]
            wide.append((f.name, is_signed(f.abi_type)))
    return _StaticPlan(
        shape_ok=(_NTOPICS == len(spec.indexed)) & (pl.col("_data").bin.size() == want) & pl.col("_data").is_not_null(),
        shape_reason=pl.format("{}: {} topics and {} data bytes, expected {} and {}", pl.lit(spec.name), _NTOPICS,
                               pl.col("_data").bin.size(), pl.lit(len(spec.indexed)), pl.lit(want)).alias("reason"),
        pad_ok=pl.all_horizontal([_padding_ok(words[f.name], f.abi_type) for f in spec.fields] or [pl.lit(True)]),
        pad_reason=pl.lit(f"{spec.name}: a field's padding does not fit its ABI type").alias("reason"),
        columns=(*(pl.col(c) for c in META), *exprs, *fits, pl.lit(spec.variant).alias("abi_variant")),
        wide=tuple(wide))


def _decode_static(part: pl.DataFrame, spec: EventSpec) -> tuple[pl.LazyFrame, ...]:
    """(decoded, wrong shape, bad padding) as lazy frames: every event's plans are collected together.
    Padding is only read from logs of the right shape (a short word cannot be sliced into limbs)."""
    plan = _static_plan(spec)
    lf = part.lazy()
    shaped = lf.filter(plan.shape_ok).with_columns(plan.pad_ok.alias("_pad"))
    return (shaped.filter(pl.col("_pad")).select(plan.columns),
            lf.filter(~plan.shape_ok).select(*RAW_COLUMNS, plan.shape_reason),
            shaped.filter(~pl.col("_pad")).select(*RAW_COLUMNS, plan.pad_reason))


def _fix_wide(frame: pl.DataFrame, spec: EventSpec) -> pl.DataFrame:
    """The rare words that do not fit in Int128 (huge uint256, int256 beyond int128): exact Python ints."""
    for name, signed in _static_plan(spec).wide:
        if not frame["_fit_" + name].all():
            fixed = [v if ok else _slow_text(w, signed)
                     for v, ok, w in zip(frame[name], frame["_fit_" + name], frame["_w_" + name])]
            frame = frame.with_columns(pl.Series(name, fixed, dtype=pl.Utf8))
    return frame.drop([c for c in frame.columns if c.startswith(("_fit_", "_w_"))])


def decode_frame(raw: pl.DataFrame) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """raw logs (RAW_COLUMNS) -> ({table: frame}, quarantine frame with a `reason` column)."""
    # Hex decoding accepts either case, so only topic0 (matched as text) is lowercased; the long data is not.
    raw = raw.with_columns(pl.col("data").cast(pl.Utf8), pl.col("topic0").cast(pl.Utf8).str.to_lowercase(),
                           *(pl.col(f"topic{i}").cast(pl.Utf8) for i in (1, 2, 3)))
    # Hex decodes at memory speed here (~0.35 µs per log); malformed hex becomes null and is quarantined.
    work = raw.with_columns(
        pl.col("data").str.slice(2).str.decode("hex", strict=False).alias("_data"),
        *(pl.col(f"topic{i}").str.slice(2).str.decode("hex", strict=False).alias(f"_t{i}") for i in (1, 2, 3)))
    known = work.filter(pl.col("topic0").is_in(list(_TOPIC0S)))
    unknown = work.filter(~pl.col("topic0").is_in(list(_TOPIC0S)) | pl.col("topic0").is_null())
    bad: list[pl.DataFrame] = []
    if unknown.height:
        bad.append(unknown.with_columns(pl.lit("unknown topic0").alias("reason")))
    by_topic = {} if known.height == 0 else known.partition_by("topic0", as_dict=True)
    static = [(_BY_TOPIC0[t], part) for (t,), part in by_topic.items() if _BY_TOPIC0[t].is_static]
    # one collect for every event's plans: Polars runs them side by side, and the fixed cost is paid once
    done = pl.collect_all([lf for spec, part in static for lf in _decode_static(part, spec)])
    tables: dict[str, list[pl.DataFrame]] = {}
    for k, (spec, _) in enumerate(static):
        frame, wrong, unpadded = done[3 * k: 3 * k + 3]
        bad += [b for b in (wrong, unpadded) if b.height]
        if frame.height:
            tables.setdefault(spec.table, []).append(_fix_wide(frame, spec))
    for (t,), part in by_topic.items():
        spec = _BY_TOPIC0[t]
        if not spec.is_static:
            frame, rej = _decode_dynamic(part.select(RAW_COLUMNS), spec)
            if rej.height:
                bad.append(rej)
            if frame.height:
                tables.setdefault(spec.table, []).append(frame.with_columns(pl.lit(spec.variant).alias("abi_variant")))
    # An event with two ABI layouts decodes into one table from two frames: restore chain order.
    out = {t: pl.concat(fs, how="diagonal_relaxed").sort("block_number", "log_index") if len(fs) > 1 else fs[0]
           for t, fs in tables.items()}
    quarantine = (pl.concat([b.select(*RAW_COLUMNS, "reason") for b in bad], how="vertical_relaxed") if bad
                  else pl.DataFrame(schema={**{c: raw.schema[c] for c in RAW_COLUMNS}, "reason": pl.Utf8}))
    return out, quarantine


def _decode_dynamic(part: pl.DataFrame, spec: EventSpec) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Events with a string field (NewInstrument, SetMarketInfo): few, decoded one by one with eth_abi."""
    rows, rejected = [], []
    types = [f.abi_type for f in spec.data_fields]
    for r in part.iter_rows(named=True):
        try:
            vals = abi_decode(types, bytes.fromhex(r["data"][2:]))
            row = {k: r[k] for k in META}
            for f, v in zip(spec.data_fields, vals):
                if f.abi_type == "address":
                    v = v.lower()
                elif f.abi_type == "bytes32":
                    v = "0x" + v.hex()
                elif f.abi_type not in ("string", "bool"):
                    v = str(v) if sql_type(f.abi_type) == "VARCHAR" else v
                row[f.name] = v
            rows.append(row)
        except Exception as e:  # noqa: BLE001 - any decode failure is quarantined with its reason
            rejected.append({**r, "reason": f"{spec.name}: {type(e).__name__}: {e}"[:300]})
    frame = pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()
    rej = pl.DataFrame(rejected, schema={**part.schema, "reason": pl.Utf8}) if rejected else pl.DataFrame()
    return frame, rej
