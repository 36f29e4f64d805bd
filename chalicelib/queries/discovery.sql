-- description: Per month between two dates (UTC): the track streams, the artists streamed, the new artists (first streamed that month, in the whole history) and their streams that month.
-- param: start_date date default=today-365 "first played date, inclusive"
-- param: end_date date default=today "last played date, inclusive"
-- param: account account "the listener's Spotify user ID (required where the lake holds several accounts)"
-- bind: account, end_date, end_date, account, account, start_date
-- reads: plays from the first to end_date
-- reads: track_artists from the first
-- reads: artists from the first
-- An artist is new in the month of its first stream in the whole history, so every play up to
-- end_date is read, and the catalog's played rows of every day (a track is catalogued on the
-- day it was fetched, which may be years after an imported play). A stream counts for its
-- track's first credited artist, identified as top_artists identifies it: by the catalog's
-- artist ID, else by the ID of the one catalogued artist of the export's artist name, else by
-- that name; a stream of a track the catalog does not know and an export does not name
-- counts in the month's streams alone. A stream is as Spotify counts one: every play the API
-- saw, and an export's entry of 30 s or more.
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
firsts AS (
    SELECT
        played_date,
        artist_id,
        export_artist,
        min(played_date) OVER (PARTITION BY artist_id, export_artist) AS first_date
    FROM credited
),
artist_months AS (
    SELECT
        substr(played_date, 1, 7) AS month,
        artist_id IS NOT NULL OR export_artist IS NOT NULL AS known,
        substr(played_date, 1, 7) = substr(first_date, 1, 7) AS is_new,
        count(*) AS streams
    FROM firsts
    WHERE played_date >= ?
    GROUP BY substr(played_date, 1, 7), artist_id, export_artist, substr(first_date, 1, 7)
)
SELECT
    month,
    sum(streams) AS streams,
    count_if(known) AS artists,
    count_if(known AND is_new) AS new_artists,
    coalesce(sum(streams) FILTER (WHERE known AND is_new), 0) AS new_artist_streams
FROM artist_months
GROUP BY month
ORDER BY month
