-- description: Totals between two dates (UTC), one row: plays, streams and minutes, the tracks and artists streamed, the days with a stream, and the month, weekday (1 = Monday .. 7 = Sunday) and hour listened to most.
-- param: start_date date default=today-365 "first played date, inclusive"
-- param: end_date date default=today "last played date, inclusive"
-- param: account account "the listener's Spotify user ID (required where the lake holds several accounts)"
-- bind: account, start_date, end_date, start_date, end_date, account, start_date, start_date, account, start_date, start_date, account, start_date, start_date
-- reads: plays from start_date to end_date
-- reads: tracks from start_date-1
-- reads: track_artists from start_date-1
-- reads: artists from start_date-1
-- Minutes are every play's, skips and episodes too, as the time was spent: its ms_played, or
-- else its track's length (a play the API saw alone). A stream is as Spotify counts one: every
-- play the API saw, and an export's entry of 30 s or more; tracks and artists are those
-- streamed, an artist identified as top_artists identifies it. The month, weekday and hour
-- (of each play's end) are those with the most minutes, the earliest of a tie.
WITH period_plays AS (
    SELECT
        played_date,
        played_at,
        track_id,
        artist_name AS export_artist,
        ms_played,
        coalesce(source, 'api') <> 'export' OR ms_played >= 30000 AS is_stream
    FROM plays
    WHERE account_id = ?
        AND played_month BETWEEN substr(?, 1, 7) AND substr(?, 1, 7)
        AND played_date BETWEEN ? AND ?
),
track_lengths AS (
    SELECT track_id, max_by(duration_ms, snapshot_date) AS duration_ms
    FROM tracks
    WHERE account_id = ?
        AND snapshot_month >= date_format(date_add('day', -1, date(?)), '%Y-%m')
        AND snapshot_date >= date_format(date_add('day', -1, date(?)), '%Y-%m-%d')
        AND played
    GROUP BY track_id
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
listened AS (
    SELECT
        play.played_date,
        play.played_at,
        play.track_id,
        play.is_stream,
        coalesce(play.ms_played, track.duration_ms, 0) AS listened_ms,
        coalesce(credit.artist_id, named.artist_id) AS artist_id,
        CASE
            WHEN credit.artist_id IS NULL AND named.artist_id IS NULL THEN play.export_artist
        END AS export_artist
    FROM period_plays AS play
    LEFT JOIN track_lengths AS track ON track.track_id = play.track_id
    LEFT JOIN first_credits AS credit ON credit.track_id = play.track_id
    LEFT JOIN unique_names AS named ON named.name = play.export_artist
),
totals AS (
    SELECT
        count(*) AS plays,
        count_if(is_stream) AS streams,
        round(CAST(sum(listened_ms) AS double) / 60000, 1) AS minutes,
        count(DISTINCT CASE WHEN is_stream THEN track_id END) AS tracks,
        count(DISTINCT CASE WHEN is_stream THEN played_date END) AS days
    FROM listened
),
streamed_artists AS (
    SELECT count(*) AS artists
    FROM (
        SELECT DISTINCT artist_id, export_artist
        FROM listened
        WHERE is_stream
            AND track_id IS NOT NULL
            AND (artist_id IS NOT NULL OR export_artist IS NOT NULL)
    ) AS streamed
),
months AS (
    SELECT
        substr(played_date, 1, 7) AS month,
        sum(listened_ms) AS listened_ms
    FROM listened
    GROUP BY substr(played_date, 1, 7)
),
weekdays AS (
    SELECT day_of_week(played_at) AS weekday, sum(listened_ms) AS listened_ms
    FROM listened
    GROUP BY day_of_week(played_at)
),
hours AS (
    SELECT hour(played_at) AS hour, sum(listened_ms) AS listened_ms
    FROM listened
    GROUP BY hour(played_at)
),
top_month AS (
    SELECT month, listened_ms, row_number() OVER (ORDER BY listened_ms DESC, month) AS rank
    FROM months
),
top_weekday AS (
    SELECT weekday, listened_ms, row_number() OVER (ORDER BY listened_ms DESC, weekday) AS rank
    FROM weekdays
),
top_hour AS (
    SELECT hour, listened_ms, row_number() OVER (ORDER BY listened_ms DESC, hour) AS rank
    FROM hours
)
SELECT
    totals.plays,
    totals.streams,
    totals.minutes,
    totals.tracks,
    streamed_artists.artists,
    totals.days,
    top_month.month AS top_month,
    round(CAST(top_month.listened_ms AS double) / 60000, 1) AS top_month_minutes,
    top_weekday.weekday AS top_weekday,
    round(CAST(top_weekday.listened_ms AS double) / 60000, 1) AS top_weekday_minutes,
    top_hour.hour AS top_hour,
    round(CAST(top_hour.listened_ms AS double) / 60000, 1) AS top_hour_minutes
FROM totals
CROSS JOIN streamed_artists
JOIN top_month ON top_month.rank = 1
JOIN top_weekday ON top_weekday.rank = 1
JOIN top_hour ON top_hour.rank = 1
