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
WITH period_plays AS (
    SELECT track_id
    FROM plays
    WHERE played_date BETWEEN ? AND ?
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
artist_totals AS (
    SELECT
        pair.artist_id,
        count(*) AS plays,
        CAST(sum(duration.duration_ms) AS double) AS duration_ms
    FROM period_plays AS play
    JOIN track_artist_pairs AS pair ON pair.track_id = play.track_id
    LEFT JOIN track_durations AS duration ON duration.track_id = play.track_id
    GROUP BY pair.artist_id
),
ranked AS (
    SELECT
        row_number() OVER (
            ORDER BY total.plays DESC, total.duration_ms DESC NULLS LAST, total.artist_id
        ) AS rank,
        total.artist_id,
        artist.name AS artist_name,
        total.plays,
        round(total.duration_ms / 60000, 1) AS minutes
    FROM artist_totals AS total
    LEFT JOIN artist_names AS artist ON artist.artist_id = total.artist_id
)
SELECT rank, artist_id, artist_name, plays, minutes
FROM ranked
WHERE rank <= ?
ORDER BY rank
