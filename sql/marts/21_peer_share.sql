-- mart_protocol_share_daily (method v1): the protocol's share of a peer set's derivatives volume.
--   ours: taker volume in USD (Trade only, as DefiLlama counts it); peers: peer_volumes, loaded from
--   DefiLlama's derivatives overview (its API when online, a file otherwise), with `source` naming where each
--   figure came from.  share = ours / (ours + Σ peers) on the days both are known.
CREATE OR REPLACE VIEW mart_protocol_share_daily AS
WITH ours AS (SELECT day::DATE AS day, taker_volume_usd FROM mart_volume_daily_protocol),
peers AS (SELECT day, sum(volume_usd) AS peer_volume_usd, count(*) AS peers, string_agg(DISTINCT source, '; ')
          AS source FROM peer_volumes GROUP BY day)
SELECT o.day, o.taker_volume_usd AS protocol_volume_usd, p.peer_volume_usd, p.peers,
       o.taker_volume_usd / (o.taker_volume_usd + p.peer_volume_usd) AS share_of_peer_set, p.source
FROM ours o JOIN peers p USING (day);
