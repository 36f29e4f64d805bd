-- description: The artists played most often between two dates (UTC), with minutes listened.
-- param: start_date date default=today-30 "first played date, inclusive"
-- param: end_date date default=today "last played date, inclusive"
-- param: limit integer default=10 min=1 max=1000 "how many artists"
-- param: account account "the listener's Spotify user ID (required where the lake holds several accounts)"
-- bind: account, start_date, end_date, start_date, end_date, account, start_date, start_date, account, start_date, start_date, account, start_date, start_date, limit
-- reads: plays from start_date to end_date
-- reads: track_artists from start_date-1
-- reads: tracks from start_date-1
-- reads: artists from start_date-1
-- A play counts for one artist, its track's first credited (the one a privacy export names
-- for it), so an artist's plays are the same whichever source saw them and whether the
-- catalog knows the track yet: an imported play whose track it does not know counts for the
-- artist the export names, by that artist's ID where one known artist has the name, else
-- by name alone. A tie in plays goes to the artist listened longer, then by artist ID.
-- A play's track, credits and artists are `played` in the catalog partition of the day the
-- play was fetched: the day before it was played (a run started before midnight), that day
-- or any later one (a late poll, the first run's backfill of the last 50 plays). Only those
-- small row groups are read, from the day before start_date on (see chalicelib/schema.py).
-- A play counts as Spotify counts a stream: every play the API saw, and an export's entry
-- of 30 s or more; its minutes are the export's ms_played, or else the track's length.
WITH period_plays AS (
    SELECT track_id, artist_name AS export_artist, ms_played
    FROM plays
    WHERE account_id = ?
        AND played_month BETWEEN substr(?, 1, 7) AND substr(?, 1, 7)
        AND played_date BETWEEN ? AND ?
        AND track_id IS NOT NULL
        AND (coalesce(source, 'api') <> 'export' OR ms_played >= 30000)
),
first_credits AS (
    SELECT track_id, max_by(artist_id, snapshot_date) AS artist_id
    FROM track_artists
    WHERE account_id = ?
        AND snapshot_month >= date_format(date_add('day', -1, date(?)), '%Y-%m')
        AND snapshot_date >= date_format(date_add('day', -1, date(?)), '%Y-%m-%d')
        AND played
        AND artist_position = 0
    GROUP BY track_id
),
track_durations AS (
    SELECT track_id, max_by(duration_ms, snapshot_date) AS duration_ms
    FROM tracks
    WHERE account_id = ?
        AND snapshot_month >= date_format(date_add('day', -1, date(?)), '%Y-%m')
        AND snapshot_date >= date_format(date_add('day', -1, date(?)), '%Y-%m-%d')
        AND played
    GROUP BY track_id
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
unique_names AS (
    SELECT name, min(artist_id) AS artist_id
    FROM artist_names
    GROUP BY name
    HAVING count(*) = 1
),
track_totals AS (
    SELECT
        track_id,
        export_artist,
        count(*) AS plays,
        count(ms_played) AS measured_plays,
        coalesce(CAST(sum(ms_played) AS double), 0) AS measured_ms
    FROM period_plays
    GROUP BY track_id, export_artist
),
credited_tracks AS (
    SELECT
        coalesce(credit.artist_id, named.artist_id) AS artist_id,
        CASE
            WHEN credit.artist_id IS NULL AND named.artist_id IS NULL THEN total.export_artist
        END AS export_artist,
        total.plays,
        CASE
            WHEN total.measured_plays = total.plays THEN total.measured_ms
            WHEN duration.duration_ms IS NOT NULL THEN total.measured_ms
                + CAST((total.plays - total.measured_plays) * duration.duration_ms AS double)
            WHEN total.measured_plays > 0 THEN total.measured_ms
        END AS listened_ms
    FROM track_totals AS total
    LEFT JOIN first_credits AS credit ON credit.track_id = total.track_id
    LEFT JOIN unique_names AS named ON named.name = total.export_artist
    LEFT JOIN track_durations AS duration ON duration.track_id = total.track_id
    WHERE credit.artist_id IS NOT NULL OR total.export_artist IS NOT NULL
),
artist_totals AS (
    SELECT
        artist_id,
        export_artist,
        sum(plays) AS plays,
        sum(listened_ms) AS listened_ms
    FROM credited_tracks
    GROUP BY artist_id, export_artist
),
ranked AS (
    SELECT
        row_number() OVER (
            ORDER BY
                total.plays DESC,
                total.listened_ms DESC NULLS LAST,
                coalesce(total.artist_id, total.export_artist)
        ) AS rank,
        total.artist_id,
        coalesce(artist.name, total.export_artist) AS artist_name,
        total.plays,
        round(total.listened_ms / 60000, 1) AS minutes
    FROM artist_totals AS total
    LEFT JOIN artist_names AS artist ON artist.artist_id = total.artist_id
)
SELECT rank, artist_id, artist_name, plays, minutes
FROM ranked
WHERE rank <= ?
ORDER BY rank
