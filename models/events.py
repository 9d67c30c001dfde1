"""The protocol's event catalogue (docs/protocol-rules.md, "Deployments and events"): every event with its fields, types, indexed flags and topic0.

One source of truth for the engine (which emits events as dicts keyed by these field names), the devnet
(which ABI-encodes them) and the pipeline's decoder.  Struct fields are flattened as ``<struct>_<field>``; the
canonical signature regroups them into tuples, and tests check every topic0 against keccak of it.
Where Base's "legacy" ABI and the "current" ABI differ, both are listed and decode into one table with an
``abi_variant`` column.
"""
from dataclasses import dataclass

INSTRUMENT, GATE, CONFIG, MARKET = "instrument", "gate", "config", "market"


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    abi_type: str
    indexed: bool = False
    group: str | None = None  # the tuple (struct) this field belongs to


@dataclass(frozen=True, slots=True)
class EventSpec:
    name: str  # Solidity event name
    source: str  # which kind of contract emits it
    topic0: str
    fields: tuple[Field, ...]
    variant: str | None = None  # "legacy" (Base, Blast) or "current" where the ABI drifted

    @property
    def table(self) -> str:
        return "events_" + _snake(self.name)

    @property
    def indexed(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.indexed)

    @property
    def data_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if not f.indexed)

    @property
    def is_static(self) -> bool:
        return all(f.abi_type not in ("string", "bytes") and not f.abi_type.endswith("[]") for f in self.fields)

    def signature(self) -> str:
        parts: list[str] = []
        group, members = None, []
        for f in self.fields + (Field("", "", False, "\0end"),):
            if f.group != group and group is not None:
                parts.append("(" + ",".join(members) + ")")
                members = []
            group = f.group
            if f.group is None:
                if f.abi_type:
                    parts.append(f.abi_type)
            else:
                members.append(f.abi_type)
        return f"{self.name}({','.join(parts)})"


def _snake(name: str) -> str:
    out = []
    for i, c in enumerate(name):
        if c.isupper() and i and (not name[i - 1].isupper() or (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(c.lower())
    return "".join(out)


def _f(spec: str, group: str | None = None) -> tuple[Field, ...]:
    """'uint32 expiry!, address trader!, int256 size' -> Fields; '!' marks indexed."""
    fields = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        typ, name = part.split()
        indexed = name.endswith("!")
        name = name.rstrip("!")
        fields.append(Field(f"{group}_{name}" if group else name, typ, indexed, group))
    return tuple(fields)


_PIC = "int256 balance, int256 size, uint256 entry_notional, uint256 entry_social_loss_index, int256 entry_funding_index"
_RANGE = "uint128 liquidity, uint128 entry_fee_index, uint96 balance, uint160 sqrt_entry_px96"
_QP_LEGACY = ("uint128 min_margin_amount, uint16 trading_fee_ratio, uint16 protocol_fee_ratio, "
              "uint64 stability_fee_ratio_param, uint8 qtype, uint128 tip")
_QP_CURRENT = "uint128 min_margin_amount, uint16 trading_fee_ratio, uint16 protocol_fee_ratio, uint8 qtype, uint128 tip"

_X = "uint32 expiry!, address trader!"

EVENTS: tuple[EventSpec, ...] = (
    # Instrument
    EventSpec("Trade", INSTRUMENT, "0x4858d822a60a8f40ed0ced2eff407b999867b6dc5a641e8154e7a77d5992e1b2",
              _f(_X + ", int256 size, uint256 amount, int256 taken_size, uint256 taken_value, uint256 entry_notional,"
                 " uint16 fee_ratio, uint160 sqrt_px96, uint256 mark")),
    EventSpec("Sweep", INSTRUMENT, "0x97b4151cf93085bd1182268897b42108e9cf2d33ad53a4f1a2f19f28970b4530",
              _f(_X + ", int256 size, int256 taken_size, uint256 taken_value, uint256 entry_notional,"
                 " uint16 fee_ratio, uint160 sqrt_px96, uint256 mark, address operator")),
    EventSpec("Place", INSTRUMENT, "0x9c9b76e0fe76229c3ca5a41a226377eab782629baacd599b04e1794c716f8ccb",
              _f(_X + ", int24 tick, uint32 nonce") + _f("uint128 balance, int128 size", "order")),
    EventSpec("Cancel", INSTRUMENT, "0x7be2751285c8d186706c42270f4e44d434906914a2b982c6737ae118b187eb40",
              _f(_X + ", int24 tick, uint32 nonce, uint256 fee") + _f(_PIC, "pic")),
    EventSpec("Fill", INSTRUMENT, "0x6cb1fc582503d121058bedba12222cd15fe6e2b9ca6ca7bca7f4e8f65a6f54c4",
              _f(_X + ", int24 tick, uint32 nonce, uint256 fee") + _f(_PIC, "pic")
              + _f("address operator, uint256 tip")),
    EventSpec("Add", INSTRUMENT, "0xee0675525fac605bfcf2ae26dcd769c6d0871098b6eed3ade01f7247b3b28071",
              _f(_X + ", int24 tick_lower, int24 tick_upper") + _f(_RANGE, "range")),
    EventSpec("Remove", INSTRUMENT, "0xa7dce0c5e8f8a6924130e383ef86572477919b8e4c6970c4823d45bc2d16d6d1",
              _f(_X + ", int24 tick_lower, int24 tick_upper, uint256 fee") + _f(_PIC, "pic")
              + _f("address operator, uint256 tip")),
    EventSpec("WithdrawRangeFee", INSTRUMENT, "0xe057b1fb9019381b415cbceef4b1ca856df6022c6b845fdf3dbb7ee874404a51",
              _f(_X + ", uint48 rid, uint256 fee, address operator") + _f(_RANGE, "range")),
    EventSpec("Adjust", INSTRUMENT, "0x8147aa4022a48141481ca46cf772b2564877667ed79ba5e4cd355e7bc4bafb85",
              _f(_X + ", int256 net")),
    EventSpec("UpdatePosition", INSTRUMENT, "0x28091792aa15efd80467574181f40ded90921ee540bf65b3b5602752e0c47a04",
              _f(_X) + _f(_PIC, "pic")),
    EventSpec("Liquidate", INSTRUMENT, "0x97968654f18071b04dd06ecfd3c74d7d9bc26180baa8f9f3e1326d676c982b63",
              _f(_X + ", uint256 amount, uint256 mark, address target, int256 size")),
    EventSpec("Settle", INSTRUMENT, "0x6621171b513d7f79c7f27204c6f3d5109d9de0c52c053e30b6cdac3dfb6db8ad",
              _f(_X + ", uint256 settlement, uint256 balance, address operator")),
    EventSpec("FundingFee", INSTRUMENT, "0x46aadd657d7f3091873c90195a06394bb12fe49e795524521773a21747d824fd",
              _f("address trader!, int256 funding")),
    EventSpec("UpdateFundingIndex", INSTRUMENT, "0x6287d4e630b53796d564aa1826a13b9501d64682c62e810bd91dbd60b5db6104",
              _f("uint256 funding_index")),
    EventSpec("UpdateFeeState", INSTRUMENT, "0x34a5fe9ecee73bae74d18dee54a89263cc00aa313fbaaa01fa1c334212371a4d",
              _f("uint32 expiry!, uint128 fee_index, uint128 protocol_fee")),
    EventSpec("UpdateSocialLossInsuranceFund", INSTRUMENT,
              "0xca1bef5f4bd95775f98c154f84fd7f4c17ed6d8cad2318b8186b1a426be26dcf",
              _f("uint32 expiry!, uint128 long_social_loss_index, uint128 short_social_loss_index,"
                 " uint128 insurance_fund")),
    EventSpec("UpdateAmmStatus", INSTRUMENT, "0x3b9390dcf8f970ba14e01c06887281b15552b9378e4df88e106fb130026bcfbf",
              _f("uint32 expiry!, uint8 status, uint160 sqrt_px96, uint256 mark")),
    EventSpec("UpdateCondition", INSTRUMENT, "0xde6365ff61871542a8bd842ab06b852e791eda6d1213bef2c5bf668e1e0420c0",
              _f("uint32 timestamp, uint8 condition")),
    EventSpec("UpdateMarginRatio", INSTRUMENT, "0x93c016308370e990595f1896e86a884d5a7603e01469052dba8f902f45d75632",
              _f("uint16 initial_margin_ratio, uint16 maintenance_margin_ratio")),
    EventSpec("UpdateParam", INSTRUMENT, "0xf0aef5e7737e8239c042b49cbbd537bc05ad4a2d118c4e2b1f9ca387220d32fc",
              _f(_QP_LEGACY, "param"), "legacy"),
    EventSpec("UpdateParam", INSTRUMENT, "0xaef1289dd9bb3e8d8692429cbaacf9ca05fec1447ef69bc163ff4ab34f3c32ae",
              _f(_QP_CURRENT, "param"), "current"),
    EventSpec("UpdateFundingHour", INSTRUMENT, "0x4641e09509a33fcf7e86af2b5254aa2f48dbe32c5d47987b99dc0edda1bdb05e",
              _f("uint8 funding_hour")),
    EventSpec("ClaimProtocolFee", INSTRUMENT, "0xe6f33fab8cfbaa59eda3b5ca55c040de6376d946a8e03adf83373b40930116e4",
              _f("uint32 expiry!, uint256 amount")),
    EventSpec("DonateInsuranceFund", INSTRUMENT, "0x7ab945b5c1ac1f9884ad7b892cf59b341e4985b3b8e499d5432451752493734d",
              _f("uint32 expiry!, address donator!, uint256 amount")),
    EventSpec("RecycleInsuranceFund", INSTRUMENT, "0x3e7ae15c29edc33654027407a1dbc2447ff76662c7894abdceb17eaace1c30f1",
              _f("uint32 expiry!, uint256 amount")),
    EventSpec("DeleteContext", INSTRUMENT, "0x0974aed6d29c73b8a3b691f6b757b9c56310dafa5a650a25f5694eb5325c6c72",
              _f("uint32 expiry!")),
    # Gate: amounts in the token's native decimals
    EventSpec("NewInstrument", GATE, "0x2f642d4751a7e76430c4c9b3abe8ab9fd9ed0daa08cae14b5594765049008e02",
              _f("bytes32 index, address instrument, address base, address quote, string symbol, uint256 total")),
    EventSpec("Deposit", GATE, "0x5548c837ab068cf56a2c2479df0882a4922fd203edb7517321831d95078c5f62",
              _f("address quote!, address trader!, uint256 quantity")),
    EventSpec("Withdraw", GATE, "0x9b1bfa7fa9ee420a16e124f794c35ac9f90472acc99140eb2f6447c714cad8eb",
              _f("address quote!, address trader!, uint256 quantity")),
    EventSpec("Scatter", GATE, "0x023916d46c0d18491146f8b0bc7d927a62a0559c8ca79920bda7dc7db1fc72f3",
              _f("address quote!, address trader!, address instrument!, uint32 expiry, uint256 quantity")),
    EventSpec("Gather", GATE, "0x11caba4dfdfa60b8536e69afbbd9721b03bb2760be96a313000c118afb70f4bf",
              _f("address quote!, address trader!, address instrument!, uint32 expiry, uint256 quantity")),
    EventSpec("UpdatePending", GATE, "0xa55e16a6ff267a3d242c633671ac1ba1c7167c925880915703d1c2186788f075",
              _f("address quote!, address trader!")
              + _f("uint32 timestamp, bool native, uint96 amount, uint120 exemption", "pending")),
    EventSpec("SetThreshold", GATE, "0x10b5ed4b9add5cc2e265d55fc56b918f9e1ec27861dde8a1f14316e15945dfce",
              _f("address quote!, uint256 threshold")),
    EventSpec("SetPendingDuration", GATE, "0xf519d67de92e2b0d980983368e6ebbc5942b4d8c98decd0b1313cb5471ed8c80",
              _f("uint256 duration")),
    EventSpec("Blacklist", GATE, "0xf7e58a63a036e3a7ef7921f83b6ae47930cf5c293dd3bfe7a857c6863409046d",
              _f("address trader!, bool banned")),
    # Config
    EventSpec("SetQuoteParam", CONFIG, "0xd51ec484ac91dbd8991c00606b1c452b5964f7e67bb6f142c967bc86100e8f86",
              _f("address quote") + _f(_QP_LEGACY, "param"), "legacy"),
    EventSpec("SetQuoteParam", CONFIG, "0xf62db018d1419654031acfd203a0b5faff72645e325a21f2455792a0a1eec4af",
              _f("address quote") + _f(_QP_CURRENT, "param"), "current"),
    EventSpec("SetMarketInfo", CONFIG, "0xcbd0032e95fdeb682f0315b917bccf0454bab0c085c3f6de8d329fef38c199e9",
              _f("string mtype, address market, address beacon")),
    EventSpec("SetLiquidatorWhitelist", CONFIG, "0xad3592e93c662896fb2fb00a7d4144823f0d75f444847e978350ee04b5006a76",
              _f("address user, bool authorized")),
    EventSpec("DisableLiquidatorWhitelist", CONFIG,
              "0x7e5a4ccff600861288b2bc1ca5776090899dc760aa29145042a6e17a7665c679", ()),
    EventSpec("SetLpWhitelist", CONFIG, "0x9af175085cdd4220e838f09e2fcfd6dbb455edda2d5cedc06efc16bf5b0e0711",
              _f("address user, bool authorized")),
    EventSpec("DisableLpWhitelist", CONFIG, "0x8c75ff6e459c0b9b59a81dc410e55f7f4779dac9d9d522fa62ca52ea53ff68fa", ()),
    EventSpec("SetLpWhitelistForQuote", CONFIG, "0x88b093aa0c087a224f260886a39c2593299b12517839167ae657c9ebf7615549",
              _f("address quote, address user, bool authorized")),
    EventSpec("EnableLpWhitelistForQuote", CONFIG,
              "0x27ac5fd2b82f3c8d9e1bd5350f356a7bdf5e41fb2fb78846667979db55fbcc44",
              _f("address quote, bool restricted")),
    EventSpec("SetBlastPointsAddress", CONFIG, "0x71d3f115243f782e19568608d5ae335996dde6a01a6abcf3136ebf384163a2ab",
              _f("address addr")),
    EventSpec("SetBlastPointsOperator", CONFIG, "0x7a3ee46404312cf6d22bf6b7f3e473506007361407e426c53a40ab9589e3a6a9",
              _f("address operator")),
    # Market contracts, the oracle side
    EventSpec("UpdateSpotState", MARKET, "0x90f8e48f7f4a2802c2995bdf8f62b28d1d9c09e8ce6f6e571406d2a4e3746622",
              _f("address instrument!") + _f("uint32 time, uint224 spot, uint256 raw", "state")),
    EventSpec("UpdateAccState", MARKET, "0x6005e46db585161868f15d3c5ed8e9f0c8f931cf745aa026db71032abac9572e",
              _f("address instrument!, uint32 expiry")
              + _f("uint32 time, uint224 init_mark, uint256 accumulation", "state"), "dexv2"),
    # The three layouts below were recovered by matching topic0 against candidate signatures (the types are
    # exact; the field names are ours, following the SDK's vocabulary).
    EventSpec("UpdateAccState", MARKET, "0x493dc6f1a9dba0862247c0c83a55bc39a284181fcdfa3e038402c13ecb8b8ecd",
              _f("address instrument!, uint32 expiry")
              + _f("uint32 init_time, uint224 init_mark, uint32 time, uint224 spot, uint256 accumulation", "state"),
              "cex"),
    EventSpec("SetFeeder", MARKET, "0x03d84a40b83005cf29a7bcca1faf6757eaff6e874b7795eb5fcc699ed1fad256",
              _f("address instrument!") + _f("uint8 ftype, uint64 scaler0, address aggregator0, uint24 heart_beat0,"
                                             " uint64 scaler1, address aggregator1, uint24 heart_beat1", "feeder"),
              "cex"),
    EventSpec("SetFeeder", MARKET, "0x16b544e12f8436832ce8271148a4eaa75e059e96840ccb2754c165e1439d9817",
              _f("address instrument!") + _f("uint8 ftype, bool is_token0_quote, address pair, uint64 scaler0,"
                                             " uint64 scaler1", "feeder"), "dexv2"),
    EventSpec("UpdateEmaParam", MARKET, "0x2fa37c9c3585bd353ea567c166285258cfa7ca84223b48d4c77f207c2b0ff9af",
              _f("address instrument!") + _f("uint16 ema_half_time, uint16 max_time_delta, uint16 max_raw_time_delta,"
                                             " uint16 max_change_ratio_per_second", "param")),
    EventSpec("SetCompactEmaParam", MARKET, "0x98ff4f954b57f5ae0b33458274d55679e69ee415668394ed8940542b14cb6571",
              _f("uint256 compact_param")),
    EventSpec("ClearStates", MARKET, "0x1ac105d3ea2f4ee94e9a9d697afb829fcf8117835e281dedcc87219c8951c200",
              _f("address instrument!, uint32 expiry")),
)

BY_TOPIC0: dict[str, EventSpec] = {e.topic0: e for e in EVENTS}
BY_VARIANT: dict[tuple[str, str | None], EventSpec] = {(e.name, e.variant): e for e in EVENTS}
BY_NAME: dict[str, EventSpec] = {}
for _e in EVENTS:
    # The first listed variant is the one the engine emits (legacy: the Base/Blast layout).
    BY_NAME.setdefault(_e.name, _e)

def spec_of(ev: dict) -> EventSpec:
    """The layout an event dict asks for ("abi_variant"), else the one the engine emits."""
    variant = ev.get("abi_variant")
    return BY_VARIANT.get((ev["event"], variant)) if variant else BY_NAME[ev["event"]]
