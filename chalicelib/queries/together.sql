-- description: The artists at least two listeners streamed between two dates (UTC), best shared first: each listener's streams of the artist and share of their own streams, and the artist's shared score, the smallest of those shares.
-- param: start_date date default=today-30 "first played date, inclusive"
-- param: end_date date default=today "last played date, inclusive"
-- param: limit integer default=20 min=1 max=1000 "how many artists"
-- param: accounts accounts "the listeners to compare, 1 to 5 Spotify user IDs separated by commas (default: every account of the lake)"
-- bind: accounts[1], accounts[2], accounts[3], accounts[4], accounts[5], start_date, end_date, start_date, end_date, accounts[1], accounts[2], accounts[3], accounts[4], accounts[5], start_date, start_date, accounts[1], accounts[2], accounts[3], accounts[4], accounts[5], start_date, start_date, limit
-- reads: plays from start_date to end_date
-- reads: track_artists from start_date-1
-- reads: artists from start_date-1
-- A stream is a play the API saw, or an export's entry of 30 s or more; its artist is its
-- track's first credited, identified as top_artists identifies it, within each listener's
-- own catalog (by ID where it knows one, else by the export's name). A listener's share of
-- an artist is their streams of it over all their streams in the period; the shared score
-- is the smallest share among the listeners who streamed it. One row per artist and
-- listener; ties go to more streams, then by artist. Athena projects account_id as
-- `injected`: the accounts are a static list of five, the missing ones the first again.
WITH period_plays AS (
    SELECT account_id, track_id, artist_name AS export_artist
    FROM plays
    WHERE account_id IN (?, ?, ?, ?, ?)
        AND played_month BETWEEN substr(?, 1, 7) AND substr(?, 1, 7)
        AND played_date BETWEEN ? AND ?
        AND track_id IS NOT NULL
        AND (coalesce(source, 'api') <> 'export' OR ms_played >= 30000)
),
first_credits AS (
    SELECT account_id, track_id, max_by(artist_id, snapshot_date) AS artist_id
    FROM track_artists
    WHERE account_id IN (?, ?, ?, ?, ?)
        AND snapshot_month >= date_format(date_add('day', -1, date(?)), '%Y-%m')
        AND snapshot_date >= date_format(date_add('day', -1, date(?)), '%Y-%m-%d')
        AND played
        AND artist_position = 0
    GROUP BY account_id, track_id
),
artist_names AS (
    SELECT account_id, artist_id, max_by(name, snapshot_date) AS name
    FROM artists
    WHERE account_id IN (?, ?, ?, ?, ?)
        AND snapshot_month >= date_format(date_add('day', -1, date(?)), '%Y-%m')
        AND snapshot_date >= date_format(date_add('day', -1, date(?)), '%Y-%m-%d')
        AND played
    GROUP BY account_id, artist_id
),
unique_names AS (
    SELECT account_id, name, min(artist_id) AS artist_id
    FROM artist_names
    GROUP BY account_id, name
    HAVING count(*) = 1
),
streams AS (
    SELECT
        play.account_id,
        coalesce(credit.artist_id, named.artist_id) AS artist_id,
        CASE
            WHEN credit.artist_id IS NULL AND named.artist_id IS NULL THEN play.export_artist
        END AS export_artist
    FROM period_plays AS play
    LEFT JOIN first_credits AS credit
        ON credit.account_id = play.account_id AND credit.track_id = play.track_id
    LEFT JOIN unique_names AS named
        ON named.account_id = play.account_id AND named.name = play.export_artist
    WHERE credit.artist_id IS NOT NULL OR play.export_artist IS NOT NULL
),
listener_totals AS (
    SELECT account_id, count(*) AS streams
    FROM streams
    GROUP BY account_id
),
listener_artists AS (
    SELECT
        stream.account_id,
        coalesce(stream.artist_id, stream.export_artist) AS artist_key,
        max(stream.artist_id) AS artist_id,
        max(stream.export_artist) AS export_artist,
        count(*) AS streams,
        CAST(count(*) AS double) / max(total.streams) AS share
    FROM streams AS stream
    JOIN listener_totals AS total ON total.account_id = stream.account_id
    GROUP BY stream.account_id, coalesce(stream.artist_id, stream.export_artist)
),
shared AS (
    SELECT
        artist_key,
        count(*) AS listeners,
        sum(streams) AS streams,
        min(share) AS shared_score
    FROM listener_artists
    GROUP BY artist_key
    HAVING count(*) >= 2
),
ranked AS (
    SELECT
        row_number() OVER (ORDER BY shared_score DESC, streams DESC, artist_key) AS rank,
        artist_key,
        listeners,
        shared_score
    FROM shared
),
names AS (
    SELECT artist_id, max(name) AS name
    FROM artist_names
    GROUP BY artist_id
)
SELECT
    ranked.rank,
    listener.artist_id,
    coalesce(names.name, listener.export_artist) AS artist_name,
    ranked.listeners,
    round(ranked.shared_score, 4) AS shared_score,
    listener.account_id AS account,
    listener.streams,
    round(listener.share, 4) AS share
FROM ranked
JOIN listener_artists AS listener ON listener.artist_key = ranked.artist_key
LEFT JOIN names ON names.artist_id = listener.artist_id
WHERE ranked.rank <= ?
ORDER BY ranked.rank, listener.streams DESC, listener.account_id
