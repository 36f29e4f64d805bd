-- description: The artists first streamed between two dates (UTC), in the whole history, the most streamed in the period first, with the day of their first stream.
-- param: start_date date default=today-365 "first played date, inclusive"
-- param: end_date date default=today "last played date, inclusive"
-- param: limit integer default=10 min=1 max=1000 "how many artists"
-- param: account account "the listener's Spotify user ID (required where the lake holds several accounts)"
-- bind: account, end_date, end_date, account, account, start_date, limit
-- reads: plays from the first to end_date
-- reads: track_artists from the first
-- reads: artists from the first
-- The artists discovery counts as new, by name: identified, and their streams counted, as
-- there (every play up to end_date is read, to find each artist's first stream). A tie in
-- streams goes to the artist found earlier, then by artist ID or name.
WITH track_streams AS (
    SELECT played_date, track_id, artist_name AS export_artist
    FROM plays
    WHERE account_id = ?
        AND played_month <= substr(?, 1, 7)
        AND played_date <= ?
        AND track_id IS NOT NULL
        AND (coalesce(source, 'api') <> 'export' OR ms_played >= 30000)
),
first_credits AS (
    SELECT track_id, max_by(artist_id, snapshot_date) AS artist_id
    FROM track_artists
    WHERE account_id = ?
        AND played AND artist_position = 0
    GROUP BY track_id
),
artist_names AS (
    SELECT artist_id, max_by(name, snapshot_date) AS name
    FROM artists
    WHERE account_id = ?
        AND played
    GROUP BY artist_id
),
unique_names AS (
    SELECT name, min(artist_id) AS artist_id
    FROM artist_names
    GROUP BY name
    HAVING count(*) = 1
),
credited AS (
    SELECT
        stream.played_date,
        coalesce(credit.artist_id, named.artist_id) AS artist_id,
        CASE
            WHEN credit.artist_id IS NULL AND named.artist_id IS NULL THEN stream.export_artist
        END AS export_artist
    FROM track_streams AS stream
    LEFT JOIN first_credits AS credit ON credit.track_id = stream.track_id
    LEFT JOIN unique_names AS named ON named.name = stream.export_artist
),
artist_totals AS (
    SELECT
        artist_id,
        export_artist,
        min(played_date) AS first_date,
        count(*) AS streams
    FROM credited
    WHERE artist_id IS NOT NULL OR export_artist IS NOT NULL
    GROUP BY artist_id, export_artist
),
ranked AS (
    SELECT
        row_number() OVER (
            ORDER BY
                total.streams DESC,
                total.first_date,
                coalesce(total.artist_id, total.export_artist)
        ) AS rank,
        total.artist_id,
        coalesce(artist.name, total.export_artist) AS artist_name,
        total.first_date,
        total.streams
    FROM artist_totals AS total
    LEFT JOIN artist_names AS artist ON artist.artist_id = total.artist_id
    WHERE total.first_date >= ?
)
SELECT rank, artist_id, artist_name, CAST(first_date AS date) AS first_streamed, streams
FROM ranked
WHERE rank <= ?
ORDER BY rank
