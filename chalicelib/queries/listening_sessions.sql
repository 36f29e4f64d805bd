-- description: Listening sessions between two dates (UTC), the longest first: the plays in the order they started, each play that starts more than gap_minutes after the latest end so far beginning a new session.
-- param: start_date date default=today-30 "first played date, inclusive"
-- param: end_date date default=today "last played date, inclusive"
-- param: gap_minutes integer default=30 min=0 max=1440 "a pause longer than this many minutes ends a session"
-- param: limit integer default=10 min=1 max=1000 "how many sessions"
-- param: account account "the listener's Spotify user ID (required where the lake holds several accounts)"
-- bind: account, start_date, end_date, start_date, end_date, account, start_date, start_date, gap_minutes, limit
-- reads: plays from start_date to end_date
-- reads: tracks from start_date-1
-- Every play counts, skips and episodes too, as the time was spent. A play ends at played_at
-- and starts its ms_played before, or else its track's length before (a play the API saw
-- alone), or else at its end; its minutes are that length. A session starts when its first
-- play does and ends at the latest end of its plays; a tie in minutes goes to the earlier.
WITH period_plays AS (
    SELECT played_at, track_id, ms_played
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
timed AS (
    SELECT
        date_add('millisecond', -coalesce(play.ms_played, track.duration_ms, 0), play.played_at)
            AS started,
        play.played_at AS ended,
        coalesce(play.ms_played, track.duration_ms, 0) AS listened_ms
    FROM period_plays AS play
    LEFT JOIN track_lengths AS track ON track.track_id = play.track_id
),
ordered AS (
    SELECT
        started,
        ended,
        listened_ms,
        max(ended) OVER (
            ORDER BY started, ended ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS latest_end
    FROM timed
),
session_starts AS (
    SELECT DISTINCT started
    FROM ordered
    WHERE latest_end IS NULL OR date_diff('millisecond', latest_end, started) > ? * 60000
),
in_sessions AS (
    SELECT
        max(CASE WHEN first_play.started IS NOT NULL THEN play.started END) OVER (
            ORDER BY play.started, play.ended ROWS UNBOUNDED PRECEDING
        ) AS session_start,
        play.ended,
        play.listened_ms
    FROM ordered AS play
    LEFT JOIN session_starts AS first_play ON first_play.started = play.started
),
sessions AS (
    SELECT
        session_start,
        max(ended) AS session_end,
        count(*) AS plays,
        sum(listened_ms) AS listened_ms
    FROM in_sessions
    GROUP BY session_start
),
ranked AS (
    SELECT
        row_number() OVER (ORDER BY listened_ms DESC, session_start) AS rank,
        session_start,
        session_end,
        plays,
        round(CAST(listened_ms AS double) / 60000, 1) AS minutes
    FROM sessions
)
SELECT session_start, session_end, plays, minutes
FROM ranked
WHERE rank <= ?
ORDER BY rank
