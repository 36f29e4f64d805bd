-- description: Per playlist, the entries added and removed between its first and last snapshot in the date range; an entry listed twice counts twice. first_stored_items and last_stored_items count the entries stored in those snapshots (as playlist_sizes's stored_items; the API's total, nulls included, is its item_count).
-- param: start_date date default=today-30 "first snapshot date, inclusive"
-- param: end_date date default=today "last snapshot date, inclusive"
-- param: account account "the listener's Spotify user ID (required where the lake holds several accounts)"
-- bind: account, start_date, end_date, start_date, end_date, account, start_date, end_date, start_date, end_date
-- reads: playlists from start_date to end_date
-- reads: playlist_items from start_date to end_date
WITH period_snapshots AS (
    SELECT playlist_id, snapshot_date, name
    FROM playlists
    WHERE account_id = ?
        AND snapshot_month BETWEEN substr(?, 1, 7) AND substr(?, 1, 7)
        AND snapshot_date BETWEEN ? AND ? AND items_extracted
),
bounds AS (
    SELECT
        playlist_id,
        max_by(name, snapshot_date) AS playlist_name,
        min(snapshot_date) AS first_snapshot_date,
        max(snapshot_date) AS last_snapshot_date
    FROM period_snapshots
    GROUP BY playlist_id
),
entries AS (
    SELECT
        item.playlist_id,
        item.snapshot_date = bound.first_snapshot_date AS in_first,
        item.snapshot_date = bound.last_snapshot_date AS in_last,
        item.item_uri,
        coalesce(item.item_name, item.item_uri) AS item_name,
        item.position AS entry_position,
        row_number() OVER (
            PARTITION BY item.playlist_id, item.snapshot_date, item.item_uri
            ORDER BY item.position
        ) AS copy_number
    FROM playlist_items AS item
    JOIN bounds AS bound
        ON bound.playlist_id = item.playlist_id
        AND item.snapshot_date IN (bound.first_snapshot_date, bound.last_snapshot_date)
    WHERE item.account_id = ?
        AND item.snapshot_month BETWEEN substr(?, 1, 7) AND substr(?, 1, 7)
        AND item.snapshot_date BETWEEN ? AND ?
),
changes AS (
    SELECT
        coalesce(new_entry.playlist_id, old_entry.playlist_id) AS playlist_id,
        old_entry.item_uri IS NULL AS is_added,
        coalesce(new_entry.item_name, old_entry.item_name) AS item_name,
        coalesce(new_entry.entry_position, old_entry.entry_position) AS entry_position
    FROM (SELECT * FROM entries WHERE in_first) AS old_entry
    FULL OUTER JOIN (SELECT * FROM entries WHERE in_last) AS new_entry
        ON new_entry.playlist_id = old_entry.playlist_id
        AND new_entry.item_uri = old_entry.item_uri
        AND new_entry.copy_number = old_entry.copy_number
    WHERE old_entry.item_uri IS NULL OR new_entry.item_uri IS NULL
),
change_totals AS (
    SELECT
        playlist_id,
        count_if(is_added) AS added,
        count_if(NOT is_added) AS removed,
        array_join(
            array_agg(item_name ORDER BY entry_position) FILTER (WHERE is_added), '; '
        ) AS added_items,
        array_join(
            array_agg(item_name ORDER BY entry_position) FILTER (WHERE NOT is_added), '; '
        ) AS removed_items
    FROM changes
    GROUP BY playlist_id
),
entry_counts AS (
    SELECT
        playlist_id,
        count_if(in_first) AS first_stored_items,
        count_if(in_last) AS last_stored_items
    FROM entries
    GROUP BY playlist_id
)
SELECT
    bound.playlist_id,
    bound.playlist_name,
    bound.first_snapshot_date,
    bound.last_snapshot_date,
    coalesce(entry_count.first_stored_items, 0) AS first_stored_items,
    coalesce(entry_count.last_stored_items, 0) AS last_stored_items,
    coalesce(change_total.added, 0) AS added,
    coalesce(change_total.removed, 0) AS removed,
    coalesce(change_total.added_items, '') AS added_items,
    coalesce(change_total.removed_items, '') AS removed_items
FROM bounds AS bound
LEFT JOIN entry_counts AS entry_count ON entry_count.playlist_id = bound.playlist_id
LEFT JOIN change_totals AS change_total ON change_total.playlist_id = bound.playlist_id
ORDER BY bound.playlist_name, bound.playlist_id
