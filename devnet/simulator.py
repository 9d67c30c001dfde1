"""A seeded market simulator: drives models/ engines to produce a consistent SynFutures history.

Three instruments: ETH-USDC-PYTH (perpetual, stable quote), BTC-WETH-LINK (perpetual quoted in WETH) and
SOL-USDC-EMG (a dated future that expires, settles, and is settled trader by trader).  Actors: LPs with ranges
of different widths, takers (some highly levered), arbitrageurs who pull the fair price toward the oracle,
makers who place, cancel and get filled, a keeper who fills exhausted orders and removes out-of-range ranges,
liquidators who take over or sweep unsafe positions, and an admin who updates parameters.  Live ranges and
resting orders per pair are bounded, as in a real book.  The engine refuses what the contract would revert
(Rejected), and the simulator simply tries something else.

Output: blocks of transactions of (emitting address, event dict); every event is also kept, numbered as the
chain will number it, so tests compare an ingest with it row for row.
"""
import hashlib
import math
import random
from dataclasses import dataclass, field

from models.constants import PERP_EXPIRY, WAD, Condition, Status
from models.events import GATE, MARKET
from models.instrument import Instrument, QuoteParam, Rejected
from models.pair import InsufficientLiquidity
from models.pearl import unpack_oid, unpack_rid
from models.position import equity, is_mm_safe
from models.tick_math import sqrt_to_wad, wad_to_sqrt

# Base mainnet addresses (docs/protocol-rules.md, "Deployments and events"), reused on the devnet so configs carry over.
GATE_ADDR = "0x208b443983d8bcc8578e9d86db23fba547071270"
CONFIG_ADDR = "0xb63902d38738e353f3f52add203c418a0bfea172"
MARKETS = {"LINK": "0x6926cc6875d3721c13325d301b4170a57f2c0b18", "DEXV2": "0xc3ec131979979bac0a9a355129671151cfa5725e",
           "EMG": "0x8f76920d741a6e2d324c9cc8878cd5a9371e81cd", "PYTH": "0xba2593a538df42f4673a5c72a444d70d6b91f3d9"}
BEACON = "0x9674e2f58485b987d7d537a059fb002ae1d44959"
USDC = "0x833589fcd6edb6e08f4c7c32d4f71b54bda02913"
WETH = "0x4200000000000000000000000000000000000006"
QUOTES = {USDC: 6, WETH: 18}
GENESIS_TS = 1780000000
DATED_EXPIRY = 1780041600  # Friday 2026-05-29 08:00 UTC
SETTLING_SECONDS = 1800
# A real book does not grow without end: LPs and makers recycle.  At these many live ranges or resting orders on
# a pair, an LP about to add removes one instead, and a maker about to place cancels one (or a keeper fills it),
# so a long history keeps a live state like a short one's (what the incremental replay benchmark relies on).
MAX_LIVE_RANGES = 40
MAX_LIVE_ORDERS = 40
LAYOUTS = {"legacy": 5, "current": 1}  # ABI layout -> order (pearl) spacing


@dataclass(frozen=True)
class Size:
    blocks: int
    block_seconds: int
    actions_per_block: int
    actions_per_tx: int


SIZES = {
    "small": Size(blocks=260, block_seconds=200, actions_per_block=3, actions_per_tx=1),
    "default": Size(blocks=1500, block_seconds=120, actions_per_block=6, actions_per_tx=1),
    "medium": Size(blocks=2500, block_seconds=60, actions_per_block=30, actions_per_tx=6),
    "large": Size(blocks=21000, block_seconds=20, actions_per_block=44, actions_per_tx=8),
}


@dataclass
class Market:
    symbol: str
    inst: Instrument
    quote: str
    mtype: str
    expiries: list
    spot: int
    vol: float  # per-sqrt-second volatility of the oracle
    unit: float  # typical trade size in base
    lp_margin: float  # typical LP margin in quote units
    base: str = ""

    @property
    def market_addr(self) -> str:
        return MARKETS[self.mtype]


def _addr(tag: str) -> str:
    return "0x" + hashlib.sha256(tag.encode()).hexdigest()[:40]


@dataclass
class History:
    blocks: list = field(default_factory=list)  # [(timestamp, [tx: [(address, event)]])]
    addresses: list = field(default_factory=list)


class Simulator:
    def __init__(self, seed: int = 7, size: str = "small", layout: str = "legacy"):
        """`layout`: "legacy" speaks Base's and Blast's ABI (order spacing 5); "current" the ABI of newer chains
        (no stabilityFeeRatioParam in QuoteParam, so other UpdateParam/SetQuoteParam topics; order spacing 1)."""
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {sorted(LAYOUTS)}, not {layout!r}")
        self.layout = layout
        self.rng = random.Random(seed)
        self.size = SIZES[size]
        self.now = GENESIS_TS
        self.lps = [_addr(f"lp{i}") for i in range(14)]
        self.takers = [_addr(f"taker{i}") for i in range(40)]
        self.makers = [_addr(f"maker{i}") for i in range(12)]
        self.keeper = _addr("keeper")
        self.liquidators = [_addr(f"liquidator{i}") for i in range(3)]
        self.deposited: set = set()
        self.markets: list[Market] = []
        # Margin ratios and (trading, protocol) fee ratios as real Base instruments have them: most at IMR/MMR
        # 1000/750 bps, BTC at 300/200; fee ratios (3,1), (1,2) or (1,1) bps.
        for symbol, quote, mtype, expiries, spot, vol, unit, lp, (imr, mmr), (tfr, pfr) in (
                ("ETH-USDC-PYTH", USDC, "PYTH", [PERP_EXPIRY], 2000, 0.0004, 3.0, 80_000, (1000, 750), (3, 1)),
                ("BTC-WETH-LINK", WETH, "LINK", [PERP_EXPIRY], 30, 0.0003, 0.2, 40, (300, 200), (1, 2)),
                ("SOL-USDC-EMG", USDC, "EMG", [DATED_EXPIRY], 150, 0.0005, 40.0, 30_000, (1000, 750), (1, 1))):
            addr = _addr("instrument:" + symbol)
            inst = Instrument(addr, quote_decimals=QUOTES[quote], imr=imr, mmr=mmr, order_spacing=LAYOUTS[layout])
            if quote == WETH:
                inst.param = QuoteParam(min_margin_amount=2 * 10**15, trading_fee_ratio=tfr, protocol_fee_ratio=pfr,
                                        stability_fee_ratio_param=14415916854096691200, qtype=2, tip=10**14)
            else:
                inst.param = QuoteParam(min_margin_amount=10 * WAD, trading_fee_ratio=tfr, protocol_fee_ratio=pfr,
                                        stability_fee_ratio_param=14415916854096691200, qtype=1, tip=10**17)
            # Gate's NewInstrument carries the zero address as base for LINK (CEX-feed) markets
            base = "0x" + "00" * 20 if mtype == "LINK" else _addr("base:" + symbol.split("-")[0])
            self.markets.append(Market(symbol, inst, quote, mtype, expiries, spot * WAD, vol, unit, lp, base=base))
        self.history = History()
        self.history.addresses = [GATE_ADDR, CONFIG_ADDR, *MARKETS.values(), *(m.inst.address for m in self.markets)]

    # --- helpers ------------------------------------------------------------------------------------------
    def _logs(self, m: Market, events: list) -> list:
        logs = []
        for ev in events:
            ev = {k: v for k, v in ev.items() if k != "_walk"}
            if self.layout == "current" and ev["event"] == "UpdateParam":
                ev["abi_variant"] = "current"
            src = ev.pop("source", None)
            if src == GATE:
                ev["quote"] = m.quote
                who = ev["trader"]
                if (who, m.quote) not in self.deposited:
                    self.deposited.add((who, m.quote))
                    logs.append((GATE_ADDR, {"event": "Deposit", "quote": m.quote, "trader": who,
                                             "quantity": 10**30 // 10 ** (18 - QUOTES[m.quote])}))
                logs.append((GATE_ADDR, ev))
            elif src == MARKET:
                logs.append((m.market_addr, ev))
            else:
                logs.append((m.inst.address, ev))
        return logs

    def _try(self, m: Market, fn, *args):
        try:
            return self._logs(m, fn(*args))
        except (Rejected, InsufficientLiquidity):
            return []

    def _genesis(self) -> list:
        txs = []
        cfg = []
        for q in QUOTES:
            p = self.markets[0].inst.param if q == USDC else self.markets[1].inst.param
            cfg.append((CONFIG_ADDR, {"event": "SetQuoteParam", "quote": q, "param_min_margin_amount": p.min_margin_amount,
                                      "param_trading_fee_ratio": p.trading_fee_ratio,
                                      "param_protocol_fee_ratio": p.protocol_fee_ratio,
                                      "param_stability_fee_ratio_param": p.stability_fee_ratio_param,
                                      "param_qtype": p.qtype, "param_tip": p.tip,
                                      **({"abi_variant": "current"} if self.layout == "current" else {})}))
        for mtype, addr in MARKETS.items():
            cfg.append((CONFIG_ADDR, {"event": "SetMarketInfo", "mtype": mtype, "market": addr, "beacon": BEACON}))
        cfg.append((CONFIG_ADDR, {"event": "SetLiquidatorWhitelist", "user": self.liquidators[0], "authorized": True}))
        cfg.append((CONFIG_ADDR, {"event": "DisableLiquidatorWhitelist"}))
        txs.append(cfg)
        for n, m in enumerate(self.markets, 1):
            # the market learns its feeder and reports a first price before the instrument is launched
            logs = [(m.market_addr, {"event": "UpdateEmaParam", "instrument": m.inst.address,
                                     "param_ema_half_time": 600, "param_max_time_delta": 250,
                                     "param_max_raw_time_delta": 600, "param_max_change_ratio_per_second": 3}),
                    (m.market_addr, {"event": "SetFeeder", "instrument": m.inst.address, "feeder_ftype": 1,
                                     "feeder_scaler0": 10**10, "feeder_aggregator0": _addr("agg0" + m.symbol),
                                     "feeder_heart_beat0": 3600, "feeder_scaler1": 0,
                                     "feeder_aggregator1": "0x" + "00" * 20, "feeder_heart_beat1": 0})]
            logs += self._logs(m, m.inst.update_spot(m.spot, m.spot, self.now))
            txs.append(logs)
            txs.append(self._launch(n, m))
        return txs

    def _launch(self, n: int, m: Market) -> list:
        """Gate.launch with the first LP's add, in the order SynFutures' contracts emit it: UpdateCondition,
        UpdateParam, UpdateMarginRatio, Gate NewInstrument, UpdateFundingIndex(0), UpdateAmmStatus(TRADING),
        then the LP's Deposit, Scatter, Add."""
        inst = m.inst
        base, quote, mt = m.symbol.split("-")
        salt = hashlib.sha256(f"{mt}|{base}|{m.quote}".encode()).digest()
        logs = self._logs(m, inst.update_condition(Condition.NORMAL, self.now))
        logs += self._logs(m, inst.update_param(inst.param))
        logs += self._logs(m, inst.update_margin_ratio(inst.imr, inst.mmr))
        logs.append((GATE_ADDR, {"event": "NewInstrument", "index": salt, "instrument": inst.address,
                                 "base": m.base, "quote": m.quote, "symbol": m.symbol, "total": n}))
        expiry = m.expiries[0]
        logs += self._logs(m, inst.open_pair(expiry, wad_to_sqrt(inst.spot), inst.mark(expiry), self.now))
        tick = inst.pair(expiry).amm.tick
        lo, hi = (tick - 400) // 50 * 50, -(-(tick + 400) // 50) * 50
        logs += self._logs(m, inst.add(expiry, self.lps[0], lo, hi, int(m.lp_margin) * WAD, self.now))
        return logs

    def _seed_liquidity(self, m: Market, expiry: int) -> list:
        txs = []
        for k, lp in enumerate(self.lps[1:6], 1):
            inst = m.inst
            tick = inst.pair(expiry).amm.tick
            width = (400, 1000, 2000, 3000, 6000, 12000)[k]
            lo, hi = (tick - width) // 50 * 50, -(-(tick + width) // 50) * 50
            margin = int(m.lp_margin * (0.5 + self.rng.random())) * WAD
            txs.append(self._try(m, inst.add, expiry, lp, lo, hi, margin, self.now))
        return [t for t in txs if t]

    # --- one action ---------------------------------------------------------------------------------------
    def _action(self, m: Market) -> list:
        r = self.rng.random()
        inst = m.inst
        live = [e for e in m.expiries if inst.pair(e).amm.status == Status.TRADING]
        if not live:
            return []
        expiry = self.rng.choice(live)
        pair = inst.pair(expiry)
        a = pair.amm
        fair = sqrt_to_wad(a.sqrt_px96)
        if 0.55 <= r < 0.68 and sum(k[0] == expiry for k in inst.orders) >= MAX_LIVE_ORDERS:
            r = 0.70  # cancel or fill instead of placing
        elif 0.76 <= r < 0.83 and sum(k[0] == expiry for k in inst.ranges) >= MAX_LIVE_RANGES:
            r = 0.85  # remove instead of adding
        if r < 0.30:  # arbitrage toward the oracle, else noise trading
            gap = (inst.spot - fair) / fair
            if abs(gap) > 0.001:
                direction = 1 if gap > 0 else -1
                size = int(m.unit * min(abs(gap) * 200, 8) * WAD) * direction
            else:
                size = int(m.unit * self.rng.uniform(-1, 1) * WAD)
            trader = self.rng.choice(self.takers[:8])
            margin = abs(size) * fair // WAD // 4 + self._topup(inst, expiry, trader)
            return self._try(m, inst.trade, expiry, trader, size or WAD // 10, margin, self.now)
        if r < 0.55:  # takers, some of them at high leverage
            trader = self.rng.choice(self.takers)
            size = int(m.unit * self.rng.lognormvariate(0, 0.8) * WAD) * self.rng.choice((1, -1))
            notional = abs(size) * fair // WAD
            lev = self.rng.choice((2, 3, 5, 8, 9.5)) if trader in self.takers[30:] else self.rng.choice((1, 2, 3))
            pos = inst.positions.get((expiry, trader))
            if pos and pos.size and (self.rng.random() < 0.35 or self._topup(inst, expiry, trader)):
                # traders below IMR, and a third of the others, reduce or close
                size = -pos.size if self.rng.random() < 0.5 else -pos.size // 2
                return self._try(m, inst.trade, expiry, trader, size or -pos.size, 0, self.now)
            return self._try(m, inst.trade, expiry, trader, size,
                             int(notional / lev) + self._topup(inst, expiry, trader), self.now)
        if r < 0.68:  # makers place limit orders around the price
            maker = self.rng.choice(self.makers)
            sp = inst.order_spacing
            off = self.rng.randint(1, 200 // sp) * sp
            side = self.rng.choice((1, -1))
            tick = (a.tick // sp) * sp + (off + sp if side < 0 else -off)
            size = int(m.unit * self.rng.uniform(0.3, 3) * WAD) * side
            return self._try(m, inst.place, expiry, maker, tick, size,
                             abs(size) * fair // WAD // 5, self.now)
        if r < 0.76:  # cancel or fill an order
            mine = [(k, o) for k, o in inst.orders.items() if k[0] == expiry]
            if not mine:
                return []
            (e, trader, key), o = self.rng.choice(mine)
            tick, _ = unpack_oid(key)
            if (tick, o.nonce) in pair.records:
                operator = trader if self.rng.random() < 0.5 else self.keeper
                return self._try(m, inst.fill, expiry, trader, tick, o.nonce, operator, self.now)
            return self._try(m, inst.cancel, expiry, trader, tick, o.nonce, self.now)
        if r < 0.83:  # LPs add ranges of different widths
            lp = self.rng.choice(self.lps)
            width = self.rng.choice((150, 300, 600, 1200, 2500, 5000, 10000))
            lo = (a.tick - width) // 50 * 50
            hi = -(-(a.tick + width) // 50) * 50
            margin = int(m.lp_margin * self.rng.uniform(0.1, 1.0)) * WAD
            return self._try(m, inst.add, expiry, lp, lo, hi, margin, self.now)
        if r < 0.88:  # remove a range: the owner, or a keeper once it is out of range
            mine = [(k, rg) for k, rg in inst.ranges.items() if k[0] == expiry]
            if not mine:
                return []
            (e, owner, key), _ = self.rng.choice(mine)
            lo, hi = unpack_rid(key)
            out = not (lo <= a.tick < hi)
            if out and self.rng.random() < 0.7:
                return self._try(m, inst.remove, expiry, owner, lo, hi, self.keeper, self.now)
            if self.rng.random() < 0.3:
                return self._try(m, inst.withdraw_range_fee, expiry, owner, lo, hi, owner, self.now)
            return self._try(m, inst.remove, expiry, owner, lo, hi, owner, self.now)
        if r < 0.91:  # margin adjustments
            mine = [k for k, p in inst.positions.items() if k[0] == expiry and p.size]
            if not mine:
                return []
            _, trader = self.rng.choice(mine)
            net = int(m.unit * fair // WAD * self.rng.uniform(-0.05, 0.2))
            return self._try(m, inst.adjust, expiry, trader, net, self.now)
        if r < 0.915 and expiry == PERP_EXPIRY:  # admin: parameter updates
            p = inst.param
            choice = self.rng.random()
            if choice < 0.5:
                base_tip = 10**14 if m.quote == WETH else 10**17
                return self._logs(m, inst.update_param(QuoteParam(p.min_margin_amount, p.trading_fee_ratio,
                                                                  p.protocol_fee_ratio, p.stability_fee_ratio_param,
                                                                  p.qtype, base_tip * self.rng.choice((1, 2)))))
            return self._logs(m, inst.update_funding_hour(self.rng.choice((0, 1, 8))))
        return []

    @staticmethod
    def _topup(inst: Instrument, expiry: int, trader: str) -> int:
        """Margin a trader must add to be back at IMR (with a 20% cushion), 0 if it is there."""
        pos = inst.positions.get((expiry, trader))
        if not pos:
            return 0
        if not pos.size:  # a flat account left owing (socialised loss, funding): it repays first
            return max(0, -pos.balance)
        mark = inst.mark(expiry)
        need = abs(pos.size) * mark // WAD * inst.imr // 10_000 - equity(pos, mark)
        return max(0, need * 6 // 5)

    def _keeper_fills(self, m: Market) -> list:
        """A keeper settles every fully taken order (it is paid the tip), as keepers do on chain."""
        txs = []
        inst = m.inst
        for (expiry, trader, key), o in list(inst.orders.items()):
            pair = inst.pairs.get(expiry)
            tick, _ = unpack_oid(key)
            if pair is not None and (tick, o.nonce) in pair.records and pair.amm.status == Status.TRADING:
                txs.append(self._try(m, inst.fill, expiry, trader, tick, o.nonce, self.keeper, self.now))
        return [t for t in txs if t]

    def _liquidations(self, m: Market) -> list:
        txs = []
        inst = m.inst
        for (expiry, trader), pos in list(inst.positions.items()):
            pair = inst.pair(expiry)
            if pos.size == 0 or pair.amm.status != Status.TRADING:
                continue
            if is_mm_safe(pos, inst.mark(expiry), inst.mmr):
                continue
            liq = self.rng.choice(self.liquidators)
            if self.rng.random() < 0.6:
                size = pos.size if self.rng.random() < 0.7 else pos.size // 2
                amount = abs(size) * inst.mark(expiry) // WAD // 3 + self._topup(inst, expiry, liq)
                txs.append(self._try(m, inst.liquidate, expiry, liq, trader, size, amount, self.now))
            else:
                txs.append(self._try(m, inst.sweep, expiry, liq, trader, -pos.size, self.now))
        return [t for t in txs if t]

    def _lifecycle(self, m: Market) -> list:
        """Dated futures: SETTLING at expiry, SETTLED 30 minutes later, then every holder is settled."""
        txs = []
        inst = m.inst
        for expiry in m.expiries:
            if expiry == PERP_EXPIRY:
                continue
            a = inst.pair(expiry).amm
            if a.status == Status.TRADING and self.now >= expiry:
                txs.append(self._logs(m, inst.update_status(expiry, Status.SETTLING, self.now)))
            elif a.status == Status.SETTLING and self.now >= expiry + SETTLING_SECONDS:
                txs.append(self._logs(m, inst.update_status(expiry, Status.SETTLED, self.now, inst.spot)))
            elif a.status == Status.SETTLED:
                holders = sorted({k[1] for k in inst.positions if k[0] == expiry and inst.positions[k].size}
                                 | {k[1] for k in inst.orders if k[0] == expiry}
                                 | {k[1] for k in inst.ranges if k[0] == expiry})
                for trader in holders[:6]:
                    txs.append(self._try(m, inst.settle, expiry, trader, self.keeper, self.now))
        return [t for t in txs if t]

    def _scheduled(self, b: int) -> list:
        """Parameter changes at fixed blocks, so every history (whatever its seed) holds them."""
        out = []
        for m in self.markets:
            if PERP_EXPIRY not in m.expiries:
                continue
            if b == 30:
                out.append(self._logs(m, m.inst.update_funding_hour(8)))
            elif b == 90 and m.quote == WETH:
                # a parameter update in the "current" ABI layout (no stabilityFeeRatioParam), as after an upgrade
                p = m.inst.param
                ev = m.inst.update_param(QuoteParam(p.min_margin_amount, p.trading_fee_ratio, p.protocol_fee_ratio,
                                                    0, p.qtype, p.tip))
                ev[0]["abi_variant"] = "current"
                out.append(self._logs(m, ev))
            elif b == 60 or (b == 120 and m.quote == WETH):  # legacy layout again after the current one
                p = m.inst.param
                out.append(self._logs(m, m.inst.update_param(QuoteParam(p.min_margin_amount, p.trading_fee_ratio,
                                                                        p.protocol_fee_ratio,
                                                                        p.stability_fee_ratio_param, p.qtype,
                                                                        p.tip * 2))))
        return out

    # --- the run ------------------------------------------------------------------------------------------
    def run(self) -> History:
        h = self.history
        self.now += 12
        h.blocks.append((self.now, self._genesis()))
        for m in self.markets:
            for e in m.expiries:
                self.now += 12
                h.blocks.append((self.now, self._seed_liquidity(m, e)))
        sz = self.size
        for b in range(sz.blocks):
            self.now += sz.block_seconds
            actions: list = self._scheduled(b)
            for m in self.markets:
                actions += self._keeper_fills(m)
                # the oracle moves (geometric random walk) and reports
                shock = self.rng.gauss(0, m.vol * math.sqrt(sz.block_seconds))
                m.spot = max(int(m.spot * math.exp(shock)), WAD // 1000)
                if self.rng.random() < 0.5:  # the smoothed index reports every other block or so
                    actions.append(self._logs(m, m.inst.update_spot(m.spot, m.spot, self.now)))
                actions += self._lifecycle(m)
                actions += self._liquidations(m)
            for _ in range(sz.actions_per_block):
                acts = self._action(self.rng.choice(self.markets))
                if acts:
                    actions.append(acts)
            txs = [sum(actions[i:i + sz.actions_per_tx], []) for i in range(0, len(actions), sz.actions_per_tx)]
            h.blocks.append((self.now, [t for t in txs if t]))
        return h


def numbered_events(history: History, first_block: int = 1) -> list[dict]:
    """Every event with the (block_number, tx_index, log_index, address, block_timestamp) the chain gives it."""
    out = []
    for b, (ts, txs) in enumerate(history.blocks):
        log_index = 0
        for ti, tx in enumerate(txs):
            for address, ev in tx:
                out.append({**ev, "block_number": first_block + b, "tx_index": ti, "log_index": log_index,
                            "address": address, "block_timestamp": ts})
                log_index += 1
    return out
