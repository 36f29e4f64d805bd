-- description: Minutes listened per day (or per month) between two dates (UTC): measured where an export says how long each play lasted, estimated from the track's length where only the API saw it.
-- param: start_date date default=today-30 "first played date, inclusive"
-- param: end_date date default=today "last played date, inclusive"
-- param: monthly integer default=0 min=0 max=1 "1 for one row per month instead of per day"
-- param: account account "the listener's Spotify user ID (required where the lake holds several accounts)"
-- bind: account, start_date, end_date, start_date, end_date, monthly, account, start_date, end_date, start_date, end_date, monthly, account, start_date, start_date
-- reads: plays from start_date to end_date
-- reads: tracks from start_date-1
-- A play the API saw alone has no ms_played: its minutes are its track's length in the
-- catalog (a full listen), counted apart as estimated. Every play counts here, skips too,
-- as the time was spent.
WITH period_plays AS (
    SELECT played_date AS period, track_id, ms_played
    FROM plays
    WHERE account_id = ?
        AND played_month BETWEEN substr(?, 1, 7) AND substr(?, 1, 7)
        AND played_date BETWEEN ? AND ? AND ? = 0
    UNION ALL
    SELECT substr(played_date, 1, 7) AS period, track_id, ms_played
    FROM plays
    WHERE account_id = ?
        AND played_month BETWEEN substr(?, 1, 7) AND substr(?, 1, 7)
        AND played_date BETWEEN ? AND ? AND ? = 1
),
track_lengths AS (
    SELECT track_id, max_by(duration_ms, snapshot_date) AS duration_ms
    FROM tracks
    WHERE account_id = ?
        AND snapshot_month >= date_format(date_add('day', -1, date(?)), '%Y-%m')
        AND snapshot_date >= date_format(date_add('day', -1, date(?)), '%Y-%m-%d')
        AND played
    GROUP BY track_id
)
SELECT
    play.period,
    count(*) AS plays,
    round(CAST(sum(coalesce(play.ms_played, track.duration_ms, 0)) AS double) / 60000, 1)
        AS minutes,
    round(CAST(sum(play.ms_played) AS double) / 60000, 1) AS measured_minutes,
    round(
        CAST(sum(CASE WHEN play.ms_played IS NULL THEN track.duration_ms END) AS double) / 60000,
        1
    ) AS estimated_minutes,
    count_if(play.ms_played IS NULL AND track.duration_ms IS NULL) AS plays_without_length
FROM period_plays AS play
LEFT JOIN track_lengths AS track ON track.track_id = play.track_id
GROUP BY play.period
ORDER BY play.period
