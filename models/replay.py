"""The replay driver (docs/protocol-rules.md, "Replay"): decoded events in (block, tx index, log index) order in, state out.

Events are taken a transaction at a time.  Each primary event (an action: Trade, Place, Add, ...) is re-executed
by the engine in ``models.instrument`` with the inputs the event carries; the engine's output is the list of
events the contract should have emitted, and each emitted event is compared field by field with the chain's.
Every difference becomes a Divergence with its location, never hidden.  Then the chain's values win: positions
from UpdatePosition, fee state, funding and social-loss indices, the post-trade price are set from the events,
so one divergence does not spread.  Leading events (UpdateFundingIndex, Scatter, ...) are matched by looking
ahead to the transaction's next primary event.

The state serialises to a compact checkpoint (pickle + zlib) and resumes from it with identical results.
"""
import gc
import pickle
import zlib
from collections import deque
from dataclasses import dataclass, field

from .constants import ORDER_SPACING, PERP_EXPIRY, Status
from .divergence import classify
from .events import GATE, MARKET
from .funding import unpack_funding_index
from .instrument import Instrument, QuoteParam, Rejected
from .pair import Pair
from .pearl import unpack_rid
from .position import Position
from .tick_math import tick_at_sqrt_ratio

PRIMARY = {"Trade", "Sweep", "Place", "Cancel", "Fill", "Add", "Remove", "WithdrawRangeFee", "Adjust",
           "Liquidate", "Settle", "UpdateParam", "UpdateMarginRatio", "UpdateFundingHour", "UpdateCondition",
           "UpdateAmmStatus", "ClaimProtocolFee", "DonateInsuranceFund", "RecycleInsuranceFund", "DeleteContext",
           "UpdateSpotState"}
_SKIP = {"event", "source", "_walk", "quote", "abi_variant"}
# Events that carry no instrument state: kept in the event tables, not replayed.
NOT_REPLAYED = {"Deposit", "Withdraw", "UpdatePending", "SetThreshold", "SetPendingDuration", "Blacklist",
                "SetQuoteParam", "SetMarketInfo", "SetLiquidatorWhitelist", "DisableLiquidatorWhitelist",
                "SetLpWhitelist", "DisableLpWhitelist", "SetLpWhitelistForQuote", "EnableLpWhitelistForQuote",
                "SetBlastPointsAddress", "SetBlastPointsOperator", "UpdateEmaParam", "SetCompactEmaParam",
                "SetFeeder", "UpdateAccState", "ClearStates"}


@dataclass(frozen=True, slots=True)
class Divergence:
    """One difference between the replay and the chain, with its size and class (models.divergence):
    diff = actual - expected (exact, None when not numeric), rel = |diff| / max(|expected|, |actual|, 1),
    cls = 'rounding' (within the tolerance: counted as drift) or 'structural' (blocks the pipeline)."""
    block_number: int
    tx_index: int
    log_index: int
    instrument: str
    event: str
    field: str
    expected: str
    actual: str
    ts: int | None = None  # the block's timestamp
    cls: str = "structural"  # or "rounding"
    reason: str = ""
    diff: int | None = None
    rel: float | None = None


# Bump when a rule of the model changes: a checkpoint written under another version holds state those rules
# did not produce, so the replay rebuilds from genesis instead of resuming from it.
MODEL_VERSION = 2


class StaleCheckpoint(ValueError):
    """A checkpoint written by another version of the model."""


@dataclass
class ReplayState:
    instruments: dict = field(default_factory=dict)  # address -> Instrument
    quote_decimals: dict = field(default_factory=dict)  # quote token address -> decimals
    instrument_quote: dict = field(default_factory=dict)  # instrument -> quote token
    cursor: tuple = (-1, -1, -1)  # last applied (block, tx index, log index)
    events_applied: int = 0
    extra: dict = field(default_factory=dict)  # bookkeeping of whoever drives the replay (kept in checkpoints)
    order_spacing: int = ORDER_SPACING  # of the chain replayed: 5 on Base and Blast, 1 on current-ABI chains
    model_version: int = MODEL_VERSION


class Replayer:
    """Applies decoded events; `on_applied` (optional) sees each (event, instrument, engine output)."""

    def __init__(self, state: ReplayState | None = None, quote_decimals: dict | None = None,
                 order_spacing: int | None = None):
        self.state = state or ReplayState()
        if order_spacing is not None:
            self.state.order_spacing = order_spacing
        if quote_decimals:
            self.state.quote_decimals.update({k.lower(): v for k, v in quote_decimals.items()})
        self.divergences: list[Divergence] = []
        self.on_applied = None
        self.before_tx = None  # called with a transaction's first event before it is applied
        self._pending: list = []  # the last transaction of a batch, held until it is known to be whole

    # --- public -------------------------------------------------------------------------------------------
    def instrument(self, address: str) -> Instrument:
        inst = self.state.instruments.get(address)
        if inst is None:
            quote = self.state.instrument_quote.get(address)
            inst = Instrument(address, quote_decimals=self.state.quote_decimals.get(quote, 18),
                              order_spacing=self.state.order_spacing)
            self.state.instruments[address] = inst
        return inst

    def apply(self, events, flush: bool = True) -> None:
        """Apply events sorted by (block_number, tx_index, log_index).

        Streaming callers pass batches with flush=False and call flush() at the end: a transaction split
        across two batches is then still replayed whole.
        """
        batch: list = self._pending
        key = (batch[0]["block_number"], batch[0]["tx_index"]) if batch else None
        last = (batch[-1]["block_number"], batch[-1]["tx_index"], batch[-1]["log_index"]) if batch else None
        for ev in events:
            k = (ev["block_number"], ev["tx_index"])
            here = (*k, ev["log_index"])
            if last is not None and here <= last:
                # Never skip silently: an event behind the stream is a bug upstream, not something to drop.
                raise ValueError(f"events out of order: {here} after {last}")
            last = here
            if k != key and batch:
                self.apply_tx(batch)
                batch = []
            key = k
            batch.append(ev)
        self._pending = batch
        if flush:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            self.apply_tx(batch)

    def apply_tx(self, events: list) -> None:
        if self.before_tx:
            self.before_tx(events[0])
        cur = self.state.cursor
        events = [e for e in events if (e["block_number"], e["tx_index"], e["log_index"]) > cur]
        if not events:
            return
        expected: deque = deque()
        ran: set[int] = set()  # indices of primary events already executed by a look-ahead
        for i, ev in enumerate(events):
            name = ev["event"]
            if name == "NewInstrument":
                self._new_instrument(ev)
                continue
            if name in NOT_REPLAYED:
                continue
            if (name not in PRIMARY or i in ran) and self._match(expected, ev):
                continue
            if name in PRIMARY and i not in ran:
                if expected and self._match(expected, ev):  # a sub-event of an earlier action (Settle)
                    continue
                self._flush(expected, ev)
                expected.extend(self._run(ev))
            else:
                # A leading event (UpdateFundingIndex, Scatter, ...): run the next primary event now.
                j = next((k for k in range(i + 1, len(events)) if events[k]["event"] in PRIMARY), None)
                if j is not None and j not in ran:
                    self._flush(expected, ev)
                    expected.extend(self._run(events[j]))
                    ran.add(j)
            if not self._match(expected, ev):
                self._diverge(ev, "*", "no such event expected", name)
                self._authoritative(ev)
                if self.on_applied:
                    self.on_applied(ev, None)
        self._flush(expected, events[-1])
        last = events[-1]
        self.state.cursor = (last["block_number"], last["tx_index"], last["log_index"])
        self.state.events_applied += len(events)

    def checkpoint(self) -> bytes:
        self.flush()
        return zlib.compress(pickle.dumps(self.state, protocol=5), 3)

    @classmethod
    def from_checkpoint(cls, blob: bytes) -> "Replayer":
        # Unpickling creates many objects at once: a collector pass over a large heap at each threshold
        # would cost more than the load itself.
        enabled = gc.isenabled()
        gc.disable()
        try:
            state = pickle.loads(zlib.decompress(blob))
        finally:
            if enabled:
                gc.enable()
        version = state.__dict__.get("model_version", 1)  # checkpoints before versioning were version 1
        if version != MODEL_VERSION:
            raise StaleCheckpoint(f"checkpoint of model version {version}, this is version {MODEL_VERSION}")
        return cls(state)

    def _new_instrument(self, ev: dict) -> None:
        addr = ev["instrument"].lower()
        quote = ev["quote"].lower()
        self.state.instrument_quote[addr] = quote
        # the launch emits the instrument's own settings events before Gate's NewInstrument
        self.instrument(addr).quote_decimals = self.state.quote_decimals.get(quote, 18)

    # --- matching -----------------------------------------------------------------------------------------
    def _match(self, expected: deque, ev: dict) -> bool:
        for j, exp in enumerate(expected):
            if exp["event"] == ev["event"] and _same_target(exp, ev):
                for _ in range(j):
                    self._missing(expected.popleft(), ev)
                expected.popleft()
                self._compare(exp, ev)
                self._authoritative(ev)
                if self.on_applied:
                    self.on_applied(ev, exp)
                return True
        return False

    def _flush(self, expected: deque, ev: dict) -> None:
        while expected:
            self._missing(expected.popleft(), ev)

    def _missing(self, exp: dict, at: dict) -> None:
        self._diverge(at, "*", exp["event"], "not emitted")

    def _compare(self, exp: dict, ev: dict) -> None:
        for k, v in exp.items():
            if k in _SKIP or v is None or k not in ev:
                continue
            a = ev[k]
            if a is None:  # a field this event's ABI variant does not have (NULL in its table)
                continue
            if isinstance(v, str):
                if v.lower() != str(a).lower():
                    self._diverge(ev, k, v, a)
            elif v != a:
                self._diverge(ev, k, v, a)

    def _diverge(self, ev: dict, fld: str, expected, actual) -> None:
        drift = classify(fld, expected, actual)
        self.divergences.append(Divergence(ev["block_number"], ev["tx_index"], ev["log_index"],
                                           _instrument_of(ev), ev["event"], fld, str(expected), str(actual),
                                           ev.get("block_timestamp"), drift.cls, drift.reason, drift.diff,
                                           drift.rel))

    # --- engine -------------------------------------------------------------------------------------------
    def _run(self, ev: dict) -> list:
        name = ev["event"]
        addr = _instrument_of(ev)
        inst = self.instrument(addr)
        now = ev["block_timestamp"]
        g = ev.get
        try:
            if name == "Trade":
                out = inst.trade(g("expiry"), g("trader"), g("size"), g("amount"), now, g("fee_ratio"), check=False)
            elif name == "Sweep":
                out = inst.sweep(g("expiry"), g("operator"), g("trader"), g("size"), now, check=False)
            elif name == "Place":
                out = inst.place(g("expiry"), g("trader"), g("tick"), g("order_size"), g("order_balance"), now,
                                 check=False)
            elif name == "Cancel":
                out = inst.cancel(g("expiry"), g("trader"), g("tick"), g("nonce"), now, check=False)
            elif name == "Fill":
                out = inst.fill(g("expiry"), g("trader"), g("tick"), g("nonce"), g("operator"), now, check=False)
            elif name == "Add":
                out = inst.add(g("expiry"), g("trader"), g("tick_lower"), g("tick_upper"), g("range_balance"), now,
                               check=False)
            elif name == "Remove":
                out = inst.remove(g("expiry"), g("trader"), g("tick_lower"), g("tick_upper"), g("operator"), now,
                                  check=False)
            elif name == "WithdrawRangeFee":
                tl, tu = unpack_rid(g("rid"))
                out = inst.withdraw_range_fee(g("expiry"), g("trader"), tl, tu, g("operator"), now)
            elif name == "Adjust":
                out = inst.adjust(g("expiry"), g("trader"), g("net"), now, check=False)
            elif name == "Liquidate":
                out = inst.liquidate(g("expiry"), g("trader"), g("target"), g("size"), g("amount"), now, check=False)
            elif name == "Settle":
                out = inst.settle(g("expiry"), g("trader"), g("operator"), now)
            elif name == "UpdateParam":
                out = inst.update_param(QuoteParam(g("param_min_margin_amount"), g("param_trading_fee_ratio"),
                                                   g("param_protocol_fee_ratio"),
                                                   g("param_stability_fee_ratio_param") or 0, g("param_qtype"),
                                                   g("param_tip")))
            elif name == "UpdateMarginRatio":
                out = inst.update_margin_ratio(g("initial_margin_ratio"), g("maintenance_margin_ratio"))
            elif name == "UpdateFundingHour":
                out = inst.update_funding_hour(g("funding_hour"))
            elif name == "UpdateCondition":
                out = inst.update_condition(g("condition"), g("timestamp"))
            elif name == "UpdateAmmStatus":
                st = g("status")
                if st == Status.TRADING and inst.pair(g("expiry")).amm.status == Status.DORMANT:
                    out = inst.open_pair(g("expiry"), g("sqrt_px96"), g("mark"), now)  # the launch
                else:
                    out = inst.update_status(g("expiry"), st, now, g("mark") if st == Status.SETTLED else 0)
            elif name == "ClaimProtocolFee":
                out = inst.claim_protocol_fee(g("expiry"))
            elif name == "DonateInsuranceFund":
                inst.pair(g("expiry")).amm.insurance_fund += g("amount")
                out = [dict(ev)]
            elif name == "RecycleInsuranceFund":
                inst.pair(g("expiry")).amm.insurance_fund -= g("amount")
                out = [dict(ev)]
            elif name == "DeleteContext":
                inst.pairs[g("expiry")] = Pair(g("expiry"), inst.order_spacing)
                out = [dict(ev)]
            elif name == "UpdateSpotState":
                out = inst.update_spot(g("state_spot"), g("state_raw"), g("state_time"))
            else:
                return []
        except (Rejected, ValueError, KeyError, ZeroDivisionError) as exc:
            self._diverge(ev, "*", "engine accepts", f"engine refused: {exc}")
            return []
        return out

    def _authoritative(self, ev: dict) -> None:
        """The chain's reported values win over the model's."""
        name = ev["event"]
        if name not in ("UpdatePosition", "UpdateFeeState", "UpdateFundingIndex", "UpdateSocialLossInsuranceFund",
                        "Trade", "Sweep"):
            return
        inst = self.instrument(_instrument_of(ev))
        if name == "UpdateFundingIndex":
            perp = inst.pair(PERP_EXPIRY).amm
            perp.long_funding_index, perp.short_funding_index = unpack_funding_index(ev["funding_index"])
            return
        pair = inst.pair(ev["expiry"])
        a = pair.amm
        if name == "UpdatePosition":
            key = (ev["expiry"], ev["trader"])
            new = Position(ev["pic_balance"], ev["pic_size"], ev["pic_entry_notional"],
                           ev["pic_entry_social_loss_index"], ev["pic_entry_funding_index"])
            old = inst.positions.get(key)
            if old is None or old.as_tuple() != new.as_tuple():
                # keep totalLong/totalShort in step with the authoritative size
                old_size = old.size if old else 0
                a.total_long += max(new.size, 0) - max(old_size, 0)
                a.total_short += max(-new.size, 0) - max(-old_size, 0)
                if new.as_tuple() == (0, 0, 0, 0, 0):
                    inst.positions.pop(key, None)  # a closed position is deleted
                else:
                    inst.positions[key] = new
        elif name == "UpdateFeeState":
            a.fee_index, a.protocol_fee = ev["fee_index"], ev["protocol_fee"]
        elif name == "UpdateSocialLossInsuranceFund":
            a.long_social_loss_index = ev["long_social_loss_index"]
            a.short_social_loss_index = ev["short_social_loss_index"]
            a.insurance_fund = ev["insurance_fund"]
        elif ev["sqrt_px96"] != a.sqrt_px96:
            a.sqrt_px96 = ev["sqrt_px96"]
            a.tick = tick_at_sqrt_ratio(a.sqrt_px96)


def _instrument_of(ev: dict) -> str:
    src = ev.get("source")
    if src in (GATE, MARKET) or ev["event"] in ("Scatter", "Gather", "UpdateSpotState"):
        return ev.get("instrument") or ev.get("address")
    return ev.get("address") or ev.get("instrument")


def _same_target(exp: dict, ev: dict) -> bool:
    t = exp.get("trader")
    return t is None or str(t).lower() == str(ev.get("trader", t)).lower()
