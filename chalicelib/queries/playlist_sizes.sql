-- description: Per snapshot date between two dates, each playlist's size: the API's item count and the entries stored (0 where the API withholds items).
-- param: start_date date default=today-30 "first snapshot date, inclusive"
-- param: end_date date default=today "last snapshot date, inclusive"
SELECT
    playlist.snapshot_date,
    playlist.playlist_id,
    playlist.name AS playlist_name,
    playlist.item_count,
    count(item.playlist_id) AS stored_items
FROM playlists AS playlist
LEFT JOIN playlist_items AS item
    ON item.playlist_id = playlist.playlist_id
    AND item.snapshot_date = playlist.snapshot_date
WHERE playlist.snapshot_date BETWEEN ? AND ?
GROUP BY playlist.snapshot_date, playlist.playlist_id, playlist.name, playlist.item_count
ORDER BY playlist.snapshot_date, playlist.playlist_id
