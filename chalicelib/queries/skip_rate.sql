-- description: The tracks skipped most between two dates (UTC), over the plays an export describes (none until one is imported with `spotify-etl import`): skipped by the export's flag, or played under 30 s.
-- param: start_date date default=today-30 "first played date, inclusive"
-- param: end_date date default=today "last played date, inclusive"
-- param: min_plays integer default=3 min=1 max=100000 "only tracks played at least this often"
-- param: limit integer default=10 min=1 max=1000 "how many tracks"
-- param: account account "the listener's Spotify user ID (required where the lake holds several accounts)"
-- bind: account, start_date, end_date, start_date, end_date, min_plays, limit
-- reads: plays from start_date to end_date
-- The API says nothing of skips, so only plays an export saw count here (source export or
-- api+export).
WITH described AS (
    SELECT
        track_id,
        track_name,
        artist_name,
        coalesce(skipped, false) OR ms_played < 30000 AS skip
    FROM plays
    WHERE account_id = ?
        AND played_month BETWEEN substr(?, 1, 7) AND substr(?, 1, 7)
        AND played_date BETWEEN ? AND ?
        AND track_id IS NOT NULL
        AND ms_played IS NOT NULL
),
totals AS (
    SELECT
        track_id,
        max(track_name) AS track_name,
        max(artist_name) AS artist_name,
        count(*) AS plays,
        count_if(skip) AS skips
    FROM described
    GROUP BY track_id
),
ranked AS (
    SELECT
        row_number() OVER (
            ORDER BY CAST(skips AS double) / plays DESC, plays DESC, track_id
        ) AS rank,
        track_id,
        track_name,
        artist_name,
        plays,
        skips,
        round(CAST(skips AS double) / plays, 3) AS skip_rate
    FROM totals
    WHERE plays >= ?
)
SELECT rank, track_id, track_name, artist_name, plays, skips, skip_rate
FROM ranked
WHERE rank <= ?
ORDER BY rank
