-- title: Share of the peer set's derivatives volume (source beside each figure)
-- chart: table
SELECT day, round(protocol_volume_usd, 2) AS protocol_volume_usd, round(peer_volume_usd, 2) AS peer_volume_usd,
       peers, round(share_of_peer_set, 6) AS share, source
FROM mart_protocol_share_daily ORDER BY day;
