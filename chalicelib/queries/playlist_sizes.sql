-- description: Per snapshot date between two dates, each playlist's size: the API's item count, the entries stored (0 where the API withholds items) and the unavailable ones the API lists empty (removed or unavailable; null where it withholds items).
-- param: start_date date default=today-30 "first snapshot date, inclusive"
-- param: end_date date default=today "last snapshot date, inclusive"
-- param: every_days integer default=1 min=1 max=36600 "one snapshot date in every N days from start_date (a long period at a coarser grain)"
-- param: account account "the listener's Spotify user ID (required where the lake holds several accounts)"
-- bind: account, start_date, end_date, account, start_date, end_date, start_date, end_date, start_date, every_days
-- reads: playlists from start_date to end_date
-- reads: playlist_items from start_date to end_date
SELECT
    playlist.snapshot_date,
    playlist.playlist_id,
    playlist.name AS playlist_name,
    playlist.item_count,
    count(item.playlist_id) AS stored_items,
    CASE WHEN playlist.items_extracted THEN playlist.item_count - count(item.playlist_id) END
        AS unavailable_items
FROM playlists AS playlist
LEFT JOIN (
    SELECT playlist_id, snapshot_date
    FROM playlist_items
    WHERE account_id = ?
        AND snapshot_month BETWEEN substr(?, 1, 7) AND substr(?, 1, 7)
) AS item
    ON item.playlist_id = playlist.playlist_id
    AND item.snapshot_date = playlist.snapshot_date
WHERE playlist.account_id = ?
    AND playlist.snapshot_month BETWEEN substr(?, 1, 7) AND substr(?, 1, 7)
    AND playlist.snapshot_date BETWEEN ? AND ?
    AND date_diff('day', date(?), date(playlist.snapshot_date)) % ? = 0
GROUP BY
    playlist.snapshot_date,
    playlist.playlist_id,
    playlist.name,
    playlist.item_count,
    playlist.items_extracted
ORDER BY playlist.snapshot_date, playlist.playlist_id
