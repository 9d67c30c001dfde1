"""What an audit is about: an LP (owner address), or one range named the way an LP names it.

--range forms (INSTRUMENT is the instrument's address or its symbol, e.g. ETH-USDC-PYTH, any case):
  INSTRUMENT:OWNER:TICK_LOWER:TICK_UPPER   a range by its tick bounds
  INSTRUMENT:TICK_LOWER:TICK_UPPER         the same, the owner from --trader (or the only LP with those bounds)
  INSTRUMENT:RANGE_ID  or  RANGE_ID        a range by the id `audit list` prints: <block>-<log index> of its Add
Parsing checks the shape only; the symbol, the owner and the id are resolved against the warehouse by the audit.
"""
import re
from dataclasses import dataclass

ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
SYMBOL = re.compile(r"^[A-Za-z][A-Za-z0-9._]*(-[A-Za-z0-9._]+)*$")
RANGE_ID = re.compile(r"^(\d+)-(\d+)$")
INT = re.compile(r"^[+-]?\d+$")
FORMS = ("INSTRUMENT:OWNER:TICK_LOWER:TICK_UPPER, INSTRUMENT:TICK_LOWER:TICK_UPPER or INSTRUMENT:RANGE_ID "
         "(INSTRUMENT: the instrument's address or its symbol such as ETH-USDC-PYTH; RANGE_ID: as `audit list` prints "
         "it)")


class AuditInputError(ValueError):
    pass


def range_id(added_block: int, added_log_index: int) -> str:
    return f"{added_block}-{added_log_index}"


@dataclass(frozen=True)
class Target:
    trader: str | None = None
    instrument: str | None = None  # address, lower case
    symbol: str | None = None  # as typed; resolved to `instrument` by the audit
    tick_lower: int | None = None
    tick_upper: int | None = None
    added_block: int | None = None  # a range id
    added_log_index: int | None = None

    @property
    def is_range(self) -> bool:
        return self.tick_lower is not None or self.added_block is not None

    def describe(self) -> str:
        inst = self.symbol or self.instrument or ""
        if self.added_block is not None:
            return f"range {range_id(self.added_block, self.added_log_index)}" + (f" on {inst}" if inst else "")
        if self.tick_lower is not None:
            return f"range {inst} ticks [{self.tick_lower}, {self.tick_upper})"
        return "every range"

    @classmethod
    def parse(cls, trader: str | None = None, range_spec: str | None = None) -> "Target":
        if not trader and not range_spec:
            raise AuditInputError(f"give either a trader address (--trader 0x…) or a range (--range {FORMS})")
        owner = None
        if trader:
            owner = _address(trader, "trader")
        if not range_spec:
            return cls(trader=owner)
        parts = [p.strip() for p in range_spec.strip().split(":")]
        if len(parts) == 1 and RANGE_ID.match(parts[0]):
            b, lg = map(int, RANGE_ID.match(parts[0]).groups())
            return cls(trader=owner, added_block=b, added_log_index=lg)
        if len(parts) not in (2, 3, 4):
            raise AuditInputError(f"'{range_spec}' is not a range: expected {FORMS}")
        inst, sym = _instrument(parts[0], range_spec)
        if len(parts) == 2:
            m = RANGE_ID.match(parts[1])
            if not m:
                raise AuditInputError(f"'{parts[1]}' in '{range_spec}' is not a range id (<block>-<log index>, as "
                                      "`audit list` prints it)")
            return cls(trader=owner, instrument=inst, symbol=sym, added_block=int(m.group(1)),
                       added_log_index=int(m.group(2)))
        if len(parts) == 4:
            spec_owner = _address(parts[1], "owner", range_spec)
            if owner and owner != spec_owner:
                raise AuditInputError(f"--trader {owner} and the range's owner {spec_owner} differ")
            owner = spec_owner
        lo_s, hi_s = parts[-2:]
        if not INT.match(lo_s) or not INT.match(hi_s):
            raise AuditInputError(f"tick bounds in '{range_spec}' must be whole numbers (ticks, as `audit list` "
                                  "prints them)")
        lo, hi = int(lo_s), int(hi_s)
        if lo >= hi:
            raise AuditInputError("tick_lower must be below tick_upper")
        return cls(trader=owner, instrument=inst, symbol=sym, tick_lower=lo, tick_upper=hi)


def _address(text: str, what: str, spec: str | None = None) -> str:
    if not ADDRESS.match(text):
        where = f" in '{spec}'" if spec else ""
        raise AuditInputError(f"{what} '{text}'{where} is not an address (0x followed by 40 hex digits)")
    return text.lower()


def _instrument(text: str, spec: str) -> tuple[str | None, str | None]:
    if text.lower().startswith("0x"):
        if not ADDRESS.match(text):
            raise AuditInputError(f"'{text}' in '{spec}' is not an instrument address or symbol: expected {FORMS}")
        return text.lower(), None
    if not SYMBOL.match(text):
        raise AuditInputError(f"'{text}' in '{spec}' is not an instrument address or symbol: expected {FORMS}")
    return None, text
