-- title: Share of the peer set's derivatives volume (source beside each figure)
-- section: Market structure
-- chart: table
SELECT day, protocol_volume_usd, peer_volume_usd, peers, share_of_peer_set, source
FROM mart_protocol_share_daily ORDER BY day;
