// Differential-test oracle: SynFutures' official SDK (npm @synfutures/perpv3-ts, pinned in package.json).
//
// Reads a JSON array of cases {fn, args} on stdin, runs each through the SDK's own code and writes a JSON array of
// results (same order) on stdout.  Big integers travel as decimal strings both ways; a case the SDK rejects comes
// back as {error: message}.  One process serves a whole test session (tests/models/test_sdk_differential.py).
// Only the SDK's pure code runs here (math, Range, Position, the funding update): no network.
import {
  Position,
  Range,
  PairSnapshot,
  PERP_EXPIRY,
  tickToSqrtX96,
  sqrtX96ToTick,
  sqrtX96ToWad,
  wadToSqrtX96,
  tickToWad,
  wadToTick,
  wmul,
  wmulUp,
  wmulDown,
  wmulInt,
  wdiv,
  wdivUp,
  wdivDown,
  mulDiv,
  mulDivRoundingUp,
  mulDivNearest,
  frac,
  ratioToWad,
} from "@synfutures/perpv3-ts";

const B = (v) => BigInt(v);

const WAD_OPS = { wmul, wmulUp, wmulDown, wmulInt, wdiv, wdivUp, wdivDown };
const MULDIV_OPS = { mulDiv, mulDivRoundingUp, mulDivNearest, frac };

function amm(a) {
  // The SDK's Amm record with every field the tested code reads; absent fields are zero.
  return {
    expiry: a.expiry ?? PERP_EXPIRY,
    timestamp: a.timestamp ?? 0,
    status: 1,
    tick: a.tick ?? 0,
    sqrtPX96: B(a.sqrtPX96 ?? 0),
    liquidity: 0n,
    totalLiquidity: 0n,
    totalShort: B(a.totalShort ?? 0),
    openInterests: 0n,
    totalLong: B(a.totalLong ?? 0),
    involvedFund: 0n,
    feeIndex: B(a.feeIndex ?? 0),
    protocolFee: 0n,
    longSocialLossIndex: B(a.longSocialLossIndex ?? 0),
    shortSocialLossIndex: B(a.shortSocialLossIndex ?? 0),
    longFundingIndex: B(a.longFundingIndex ?? 0),
    shortFundingIndex: B(a.shortFundingIndex ?? 0),
    insuranceFund: B(a.insuranceFund ?? 0),
    settlementPrice: 0n,
  };
}

const position = (p) =>
  new Position(B(p.balance), B(p.size), B(p.entryNotional), B(p.entrySocialLossIndex), B(p.entryFundingIndex));

const positionOut = (p) => ({
  balance: p.balance,
  size: p.size,
  entryNotional: p.entryNotional,
  entrySocialLossIndex: p.entrySocialLossIndex,
  entryFundingIndex: p.entryFundingIndex,
});

const range = (r) =>
  new Range(
    B(r.liquidity ?? 0), B(r.entryFeeIndex ?? 0), B(r.balance ?? 0), B(r.sqrtEntryPX96), r.tickLower, r.tickUpper,
  );

const HANDLERS = {
  // tick <-> sqrtPX96 <-> WAD price
  tickToSqrtX96: (a) => tickToSqrtX96(a.tick),
  sqrtX96ToTick: (a) => sqrtX96ToTick(B(a.sqrtPX96)),
  sqrtX96ToWad: (a) => sqrtX96ToWad(B(a.sqrtPX96)),
  wadToSqrtX96: (a) => wadToSqrtX96(B(a.wad)),
  tickToWad: (a) => tickToWad(a.tick),
  wadToTick: (a) => wadToTick(B(a.wad)),

  // WAD / mulDiv helpers: {op, x, y} or {op, x, y, d}
  wadOp: (a) => WAD_OPS[a.op](B(a.x), B(a.y)),
  mulDivOp: (a) => MULDIV_OPS[a.op](B(a.x), B(a.y), B(a.d)),
  ratioToWad: (a) => ratioToWad(a.ratio),

  // Range: liquidity from margin (both bounds and the SDK's own min), entry deltas
  rangeLiquidity: (a) => {
    const r = range({ sqrtEntryPX96: a.sqrtEntryPX96, tickLower: a.tickLower, tickUpper: a.tickUpper });
    const s = B(a.sqrtEntryPX96);
    const m = B(a.margin);
    const d = r.calcEntryDelta(s, m, a.imr);
    return {
      byUpper: r.calcLiquidityFromMarginByUpper(s, m, a.imr),
      byLower: r.calcLiquidityFromMarginByLower(s, m, a.imr),
      liquidity: d.liquidity,
      deltaBase: d.deltaBase,
      deltaQuote: d.deltaQuote,
    };
  },
  rangeEntryDelta: (a) => {
    const r = range(a);
    return { base: r.entryDeltaBase(), quote: r.entryDeltaQuote() };
  },

  // Range -> Position at the AMM's price.  fee and pnl are read back from the Position the SDK builds:
  // balance = range.balance + fee + pnl - 1 (Range.toPosition).
  rangeToPosition: (a) => {
    const r = range(a.range);
    const m = amm(a.amm);
    const p = r.toPosition(m);
    const fee = r.feeEarned(m);
    return {
      ...positionOut(p),
      fee,
      pnl: p.balance - r.balance - fee + 1n,
      fair: sqrtX96ToWad(m.sqrtPX96),
    };
  },

  // Position: funding / social loss owed, realisation and merging
  positionPnl: (a) => {
    const p = position(a.position);
    const m = amm(a.amm);
    return { funding: p.fundingFee(m), socialLoss: p.socialLoss(m) };
  },
  // Position.realizeFundingFee then realizeSocialLoss (TypeScript-private statics, which combine calls first;
  // funding is realised on perpetuals only, as in combine).
  realize: (a) => {
    const m = amm(a.amm);
    let p = position(a.position);
    let funding = 0n;
    if (m.expiry === PERP_EXPIRY) {
      const f = Position.realizeFundingFee(m, p);
      p = f.position;
      funding = f.pnl;
    }
    const l = Position.realizeSocialLoss(m, p);
    return { position: positionOut(l.position), funding, socialLoss: l.socialLoss };
  },
  combine: (a) => {
    const r = Position.combine(amm(a.amm), position(a.p1), position(a.p2));
    return { position: positionOut(r.position), closedSize: r.closedSize, realized: r.realized };
  },

  // Funding index update: PairSnapshot.updateAmmFundingIndex run on just the state it reads.
  fundingUpdate: (a) => {
    const snapshot = {
      amm: amm(a.amm),
      priceData: { markPrice: B(a.markPrice) },
      instrumentSetting: { fundingSeconds: a.fundingSeconds },
      blockInfo: { timestamp: a.timestamp },
    };
    const out = PairSnapshot.prototype.updateAmmFundingIndex.call(snapshot, a.timestamp);
    return {
      longFundingIndex: out.longFundingIndex,
      shortFundingIndex: out.shortFundingIndex,
      insuranceFund: out.insuranceFund,
      fair: sqrtX96ToWad(B(a.amm.sqrtPX96)),
    };
  },

  // Taker fee.  perpv3-ts takes the fee of a trade from the chain's quotation (Quotation.fee) and has no fee
  // function of its own, so the oracle applies the SDK's idiom for a bps charge on a notional (as in its margin
  // requirement, wmulUp(notional, ratioToWad(imr))) to the summed ratios.
  takerFee: (a) => wmulUp(B(a.notional), ratioToWad(a.tradingFeeRatio + a.protocolFeeRatio)),
};

function run(c) {
  const h = HANDLERS[c.fn];
  if (!h) return { error: `unknown fn ${c.fn}` };
  try {
    return { ok: h(c.args) };
  } catch (e) {
    return { error: String(e && e.message ? e.message : e) };
  }
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const cases = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const results = cases.map(run);
process.stdout.write(JSON.stringify(results, (_, v) => (typeof v === "bigint" ? v.toString() : v)));
