"""Vectorised decoding of raw logs into one typed frame per event (spec §4), exact to the last bit.

Static-layout events are decoded with Polars string slicing of the hex data: no per-log ABI call.  Each 32-byte
word becomes:
- address: lowercase "0x" + 40 hex; bool: Boolean; bytes32: hex text;
- types of at most 63 bits: Int64 (signed types sign-extended);
- wider types: exact decimal text, computed through Int128 only for rows whose value provably fits in it
  (Polars Int128 wraps silently on overflow), and by Python's int for the rare rest.  The store casts that text
  to HUGEINT where the ABI type fits it, and keeps VARCHAR for uint128+/int256 (DESIGN.md).
A log whose topic count, data length or padding does not fit its event goes to quarantine with the reason;
a log with an unknown topic0 does too.  web3's process_log is the test oracle for every event.
"""
import polars as pl
from eth_abi import decode as abi_decode

from models.events import EVENTS, EventSpec

RAW_COLUMNS = ["block_number", "block_timestamp", "tx_index", "log_index", "tx_hash", "address", "block_hash",
               "topic0", "topic1", "topic2", "topic3", "data"]
META = ["block_number", "block_timestamp", "tx_index", "log_index", "tx_hash", "address"]
_TOPIC0S = {e.topic0 for e in EVENTS}


def type_bits(abi_type: str) -> int:
    if abi_type in ("address",):
        return 160
    if abi_type == "bool":
        return 8
    digits = "".join(c for c in abi_type if c.isdigit())
    return int(digits) if digits else 256


def is_signed(abi_type: str) -> bool:
    return abi_type.startswith("int")


def sql_type(abi_type: str) -> str:
    """The DuckDB column type for an ABI type (DESIGN.md: exact, HUGEINT where it fits, else VARCHAR)."""
    if abi_type in ("address", "string", "bytes32", "bytes"):
        return "VARCHAR"
    if abi_type == "bool":
        return "BOOLEAN"
    bits = type_bits(abi_type)
    if bits <= 63 or (is_signed(abi_type) and bits <= 64):
        return "BIGINT"
    if bits <= 127 or (is_signed(abi_type) and bits <= 128):
        return "HUGEINT"
    return "VARCHAR"


def _limb(word: pl.Expr, i: int) -> pl.Expr:
    return word.str.slice(16 * i, 16).str.to_integer(base=16, dtype=pl.UInt64, strict=True)


def _wide_text(word: pl.Expr, signed: bool) -> pl.Expr:
    """Exact decimal text of a 256-bit word (two's complement when signed)."""
    l0, l1, l2, l3 = (_limb(word, i) for i in range(4))
    hi = l2.reinterpret(signed=True).cast(pl.Int128) * pl.lit(2**64, dtype=pl.Int128) + l3.cast(pl.Int128)
    zero, ones = pl.lit(0, pl.UInt64), pl.lit(2**64 - 1, pl.UInt64)
    fits_pos = (l0 == zero) & (l1 == zero) & (l2 < pl.lit(2**63, pl.UInt64))
    fits = fits_pos | ((l0 == ones) & (l1 == ones) & (l2 >= pl.lit(2**63, pl.UInt64))) if signed else fits_pos

    def slow(h: str) -> str:
        v = int(h, 16)
        if signed and v >> 255:
            v -= 1 << 256
        return str(v)

    return pl.when(fits).then(hi.cast(pl.Utf8)).otherwise(word.map_elements(slow, return_dtype=pl.Utf8))


def _field_expr(word: pl.Expr, abi_type: str) -> pl.Expr:
    if abi_type == "address":
        return pl.lit("0x") + word.str.slice(24, 40)
    if abi_type == "bytes32":
        return pl.lit("0x") + word
    if abi_type == "bool":
        return word.str.slice(63, 1) == "1"
    bits = type_bits(abi_type)
    signed = is_signed(abi_type)
    if sql_type(abi_type) == "BIGINT":
        n = bits // 4
        v = word.str.slice(64 - n, n).str.to_integer(base=16, dtype=pl.UInt64, strict=True)
        if signed:
            if bits == 64:
                return v.reinterpret(signed=True)
            v = v.cast(pl.Int64)
            return pl.when(v >= 2 ** (bits - 1)).then(v - 2**bits).otherwise(v)
        return v.cast(pl.Int64)
    return _wide_text(word, signed)


def _padding_ok(word: pl.Expr, abi_type: str) -> pl.Expr:
    """The bytes above the type's width must be zero (or sign extension for intN)."""
    if abi_type == "bytes32":
        return pl.lit(True)
    bits = 160 if abi_type == "address" else (1 if abi_type == "bool" else type_bits(abi_type))
    k = (256 - bits) // 4
    if k == 0:
        return pl.lit(True)
    if abi_type == "bool":
        return word.str.slice(0, 63).str.count_matches("0") == 63
    lead = word.str.slice(0, k)
    zeros = lead == "0" * k
    if not is_signed(abi_type):
        return zeros
    first = word.str.slice(k, 1)
    neg = first.is_in(list("89abcdef"))
    return (zeros & ~neg) | ((lead == "f" * k) & neg)


def _words(df_expr_data: pl.Expr, spec: EventSpec) -> dict:
    words = {}
    ti = 1
    di = 0
    for f in spec.fields:
        if f.indexed:
            words[f.name] = pl.col(f"topic{ti}").str.slice(2, 64)
            ti += 1
        else:
            words[f.name] = df_expr_data.str.slice(2 + 64 * di, 64)
            di += 1
    return words


def decode_frame(raw: pl.DataFrame) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """raw logs (RAW_COLUMNS) -> ({table: frame}, quarantine frame with a `reason` column)."""
    raw = raw.with_columns(*(pl.col(c).cast(pl.Utf8).str.to_lowercase()
                             for c in ("data", "topic0", "topic1", "topic2", "topic3")))
    tables: dict[str, list[pl.DataFrame]] = {}
    bad: list[pl.DataFrame] = []
    unknown = raw.filter(~pl.col("topic0").is_in(list(_TOPIC0S)) | pl.col("topic0").is_null())
    if unknown.height:
        bad.append(unknown.with_columns(pl.lit("unknown topic0").alias("reason")))
    ntopics = sum(pl.col(f"topic{i}").is_not_null().cast(pl.Int32) for i in (1, 2, 3))
    for spec in EVENTS:
        part = raw.filter(pl.col("topic0") == spec.topic0)
        if not part.height:
            continue
        if not spec.is_static:
            frame, rejected = _decode_dynamic(part, spec)
        else:
            want_len = 2 + 64 * len(spec.data_fields)
            shape_ok = (ntopics == len(spec.indexed)) & (pl.col("data").str.len_chars() == want_len)
            part = part.with_columns(shape_ok.alias("_shape"))
            wrong = part.filter(~pl.col("_shape"))
            if wrong.height:
                bad.append(wrong.drop("_shape").with_columns(
                    pl.format("{}: {} topics and {} data bytes, expected {} and {}", pl.lit(spec.name), ntopics,
                              (pl.col("data").str.len_chars() - 2) // 2, pl.lit(len(spec.indexed)),
                              pl.lit(len(spec.data_fields) * 32)).alias("reason")))
            part = part.filter(pl.col("_shape")).drop("_shape")
            words = _words(pl.col("data"), spec)
            pad_ok = pl.all_horizontal([_padding_ok(words[f.name], f.abi_type) for f in spec.fields] or [pl.lit(True)])
            part = part.with_columns(pad_ok.alias("_pad"))
            rejected = part.filter(~pl.col("_pad")).drop("_pad").with_columns(
                pl.lit(f"{spec.name}: a field's padding does not fit its ABI type").alias("reason"))
            part = part.filter(pl.col("_pad"))
            frame = part.select(*META, *(_field_expr(words[f.name], f.abi_type).alias(f.name) for f in spec.fields))
        if rejected.height:
            bad.append(rejected.select(*RAW_COLUMNS, "reason"))
        if frame.height:
            frame = frame.with_columns(pl.lit(spec.variant).alias("abi_variant"))
            tables.setdefault(spec.table, []).append(frame)
    out = {t: pl.concat(fs, how="diagonal_relaxed") if len(fs) > 1 else fs[0] for t, fs in tables.items()}
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
