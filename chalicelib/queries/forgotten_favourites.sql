-- description: Forgotten favourites: the tracks streamed at least min_streams times up to quiet_days before as_of and not since (up to as_of), the most streamed first.
-- param: as_of date default=today "the day to look back from, inclusive"
-- param: quiet_days integer default=365 min=1 max=36500 "days without a stream up to as_of"
-- param: min_streams integer default=10 min=1 max=1000000 "only tracks streamed at least this often before"
-- param: limit integer default=10 min=1 max=1000 "how many tracks"
-- param: account account "the listener's Spotify user ID (required where the lake holds several accounts)"
-- bind: account, as_of, as_of, as_of, quiet_days, as_of, quiet_days, account, account, account, min_streams, limit
-- reads: plays from the first to as_of
-- reads: tracks from the first
-- reads: track_artists from the first
-- reads: artists from the first
-- Every play up to as_of is read, and the catalog's played rows of every day (a track is
-- catalogued on the day it was fetched, which may be years after an imported play). A track
-- is named by the catalog, else by the export; its artist is its first credited artist, as
-- top_artists counts a stream for, else the artist the export names. A stream is as Spotify
-- counts one: every play the API saw, and an export's entry of 30 s or more. last_streamed is
-- the day of its last stream; a tie in streams goes to the track streamed later, then by ID.
WITH track_streams AS (
    SELECT played_date, track_id, track_name AS export_track, artist_name AS export_artist
    FROM plays
    WHERE account_id = ?
        AND played_month <= substr(?, 1, 7)
        AND played_date <= ?
        AND track_id IS NOT NULL
        AND (coalesce(source, 'api') <> 'export' OR ms_played >= 30000)
),
lately AS (
    SELECT DISTINCT track_id
    FROM track_streams
    WHERE date_diff('day', date(played_date), date(?)) < ?
),
earlier AS (
    SELECT
        track_id,
        count(*) AS streams,
        max(played_date) AS last_streamed,
        max(export_track) AS export_track,
        max(export_artist) AS export_artist
    FROM track_streams
    WHERE date_diff('day', date(played_date), date(?)) >= ?
    GROUP BY track_id
),
track_names AS (
    SELECT track_id, max_by(name, snapshot_date) AS name
    FROM tracks
    WHERE account_id = ?
        AND played
    GROUP BY track_id
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
forgotten AS (
    SELECT
        row_number() OVER (
            ORDER BY loved.streams DESC, loved.last_streamed DESC, loved.track_id
        ) AS rank,
        loved.track_id,
        coalesce(track.name, loved.export_track) AS track,
        coalesce(artist.name, loved.export_artist) AS artist,
        loved.streams,
        loved.last_streamed
    FROM earlier AS loved
    LEFT JOIN lately ON lately.track_id = loved.track_id
    LEFT JOIN track_names AS track ON track.track_id = loved.track_id
    LEFT JOIN first_credits AS credit ON credit.track_id = loved.track_id
    LEFT JOIN artist_names AS artist ON artist.artist_id = credit.artist_id
    WHERE lately.track_id IS NULL AND loved.streams >= ?
)
SELECT track_id, track, artist, streams, CAST(last_streamed AS date) AS last_streamed
FROM forgotten
WHERE rank <= ?
ORDER BY rank
