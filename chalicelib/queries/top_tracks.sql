-- description: The tracks played most often between two dates (UTC), with their artists.
-- param: start_date date default=today-30 "first played date, inclusive"
-- param: end_date date default=today "last played date, inclusive"
-- param: limit integer default=10 min=1 max=1000 "how many tracks"
-- param: account account "the listener's Spotify user ID (required where the lake holds several accounts)"
-- bind: account, start_date, end_date, start_date, end_date, account, start_date, start_date, account, start_date, start_date, account, start_date, start_date, limit
-- reads: plays from start_date to end_date
-- reads: tracks from start_date-1
-- reads: track_artists from start_date-1
-- reads: artists from start_date-1
-- A tie in plays goes to the track listened longer, then by track ID.
-- A play's track, credits and artists are `played` in the catalog partition of the day the
-- play was fetched: the day before it was played (a run started before midnight), that day
-- or any later one (a late poll, the first run's backfill of the last 50 plays). Only those
-- small row groups are read, from the day before start_date on (see chalicelib/schema.py).
-- A play counts as Spotify counts a stream: every play the API saw, and an export's entry
-- of 30 s or more; its minutes are the export's ms_played, or else the track's length, so
-- they are the same before and after the catalog knows an imported track. An imported play
-- whose track the catalog does not know yet is named by the export's track and artist
-- names until it does.
WITH period_plays AS (
    SELECT track_id, track_name AS export_track, artist_name AS export_artist, ms_played
    FROM plays
    WHERE account_id = ?
        AND played_month BETWEEN substr(?, 1, 7) AND substr(?, 1, 7)
        AND played_date BETWEEN ? AND ?
        AND track_id IS NOT NULL
        AND (coalesce(source, 'api') <> 'export' OR ms_played >= 30000)
),
track_totals AS (
    SELECT
        track_id,
        count(*) AS plays,
        count(ms_played) AS measured_plays,
        coalesce(CAST(sum(ms_played) AS double), 0) AS measured_ms,
        max(export_track) AS export_track,
        max(export_artist) AS export_artist
    FROM period_plays
    GROUP BY track_id
),
latest_tracks AS (
    SELECT
        track_id,
        max_by(name, snapshot_date) AS name,
        max_by(duration_ms, snapshot_date) AS duration_ms
    FROM tracks
    WHERE account_id = ?
        AND snapshot_month >= date_format(date_add('day', -1, date(?)), '%Y-%m')
        AND snapshot_date >= date_format(date_add('day', -1, date(?)), '%Y-%m-%d')
        AND played
    GROUP BY track_id
),
played_credits AS (
    SELECT track_id, artist_id, artist_position, snapshot_date
    FROM track_artists
    WHERE account_id = ?
        AND snapshot_month >= date_format(date_add('day', -1, date(?)), '%Y-%m')
        AND snapshot_date >= date_format(date_add('day', -1, date(?)), '%Y-%m-%d')
        AND played
),
latest_track_artists AS (
    SELECT credit.track_id, credit.artist_id, credit.artist_position
    FROM played_credits AS credit
    JOIN (
        SELECT track_id, max(snapshot_date) AS snapshot_date
        FROM played_credits
        GROUP BY track_id
    ) AS latest
        ON latest.track_id = credit.track_id AND latest.snapshot_date = credit.snapshot_date
),
artist_names AS (
    SELECT artist_id, max_by(name, snapshot_date) AS name
    FROM artists
    WHERE account_id = ?
        AND snapshot_month >= date_format(date_add('day', -1, date(?)), '%Y-%m')
        AND snapshot_date >= date_format(date_add('day', -1, date(?)), '%Y-%m-%d')
        AND played
    GROUP BY artist_id
),
track_artist_names AS (
    SELECT
        credit.track_id,
        array_join(
            array_agg(coalesce(artist.name, credit.artist_id) ORDER BY credit.artist_position),
            ', '
        ) AS artist_names
    FROM latest_track_artists AS credit
    LEFT JOIN artist_names AS artist ON artist.artist_id = credit.artist_id
    GROUP BY credit.track_id
),
listened AS (
    SELECT
        total.*,
        track.name,
        CASE
            WHEN total.measured_plays = total.plays THEN total.measured_ms
            ELSE total.measured_ms
                + CAST((total.plays - total.measured_plays) * track.duration_ms AS double)
        END AS listened_ms
    FROM track_totals AS total
    LEFT JOIN latest_tracks AS track ON track.track_id = total.track_id
),
ranked AS (
    SELECT
        row_number() OVER (
            ORDER BY total.plays DESC, total.listened_ms DESC NULLS LAST, total.track_id
        ) AS rank,
        total.track_id,
        coalesce(total.name, total.export_track) AS track_name,
        coalesce(credits.artist_names, total.export_artist) AS artist_names,
        total.plays,
        round(total.listened_ms / 60000, 1) AS minutes
    FROM listened AS total
    LEFT JOIN track_artist_names AS credits ON credits.track_id = total.track_id
)
SELECT rank, track_id, track_name, artist_names, plays, minutes
FROM ranked
WHERE rank <= ?
ORDER BY rank
