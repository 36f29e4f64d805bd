-- description: The artists played most often between two dates (UTC), with minutes listened.
-- param: start_date date default=today-30 "first played date, inclusive"
-- param: end_date date default=today "last played date, inclusive"
-- param: limit integer default=10 min=1 max=1000 "how many artists"
-- bind: start_date, end_date, start_date, start_date, start_date, limit
-- A tie in plays goes to the artist listened longer, then by artist ID.
-- A play's track, credits and artists are `played` in the catalog partition of the day the
-- play was fetched: the day before it was played (a run started before midnight), that day
-- or any later one (a late poll, the first run's backfill of the last 50 plays). Only those
-- small row groups are read, from the day before start_date on (see chalicelib/schema.py).
-- A play counts as Spotify counts a stream: every play the API saw, and an export's entry
-- of 30 s or more. An imported play whose track the catalog does not know yet counts for
-- the artist the export names (its album's artist), by name, until it does.
WITH period_plays AS (
    SELECT track_id, artist_name AS export_artist
    FROM plays
    WHERE played_date BETWEEN ? AND ?
        AND track_id IS NOT NULL
        AND (coalesce(source, 'api') <> 'export' OR ms_played >= 30000)
),
track_artist_pairs AS (
    SELECT DISTINCT track_id, artist_id
    FROM track_artists
    WHERE snapshot_date >= date_format(date_add('day', -1, date(?)), '%Y-%m-%d')
        AND played
),
track_durations AS (
    SELECT track_id, max_by(duration_ms, snapshot_date) AS duration_ms
    FROM tracks
    WHERE snapshot_date >= date_format(date_add('day', -1, date(?)), '%Y-%m-%d')
        AND played
    GROUP BY track_id
),
artist_names AS (
    SELECT artist_id, max_by(name, snapshot_date) AS name
    FROM artists
    WHERE snapshot_date >= date_format(date_add('day', -1, date(?)), '%Y-%m-%d')
        AND played
    GROUP BY artist_id
),
credited_plays AS (
    SELECT pair.artist_id, CAST(NULL AS varchar) AS export_artist, play.track_id
    FROM period_plays AS play
    JOIN track_artist_pairs AS pair ON pair.track_id = play.track_id
    UNION ALL
    SELECT CAST(NULL AS varchar) AS artist_id, play.export_artist, play.track_id
    FROM period_plays AS play
    WHERE play.export_artist IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM track_artist_pairs AS pair WHERE pair.track_id = play.track_id)
),
artist_totals AS (
    SELECT
        credited.artist_id,
        credited.export_artist,
        count(*) AS plays,
        CAST(sum(duration.duration_ms) AS double) AS duration_ms
    FROM credited_plays AS credited
    LEFT JOIN track_durations AS duration ON duration.track_id = credited.track_id
    GROUP BY credited.artist_id, credited.export_artist
),
ranked AS (
    SELECT
        row_number() OVER (
            ORDER BY
                total.plays DESC,
                total.duration_ms DESC NULLS LAST,
                coalesce(total.artist_id, total.export_artist)
        ) AS rank,
        total.artist_id,
        coalesce(artist.name, total.export_artist) AS artist_name,
        total.plays,
        round(total.duration_ms / 60000, 1) AS minutes
    FROM artist_totals AS total
    LEFT JOIN artist_names AS artist ON artist.artist_id = total.artist_id
)
SELECT rank, artist_id, artist_name, plays, minutes
FROM ranked
WHERE rank <= ?
ORDER BY rank
