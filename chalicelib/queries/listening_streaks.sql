-- description: Streaks between two dates (UTC), the longest first: each run of consecutive days with at least one stream, with the streams in it.
-- param: start_date date default=today-365 "first played date, inclusive"
-- param: end_date date default=today "last played date, inclusive"
-- param: limit integer default=10 min=1 max=1000 "how many streaks"
-- param: account account "the listener's Spotify user ID (required where the lake holds several accounts)"
-- bind: account, start_date, end_date, start_date, end_date, limit
-- reads: plays from start_date to end_date
-- A stream is as Spotify counts one: every play the API saw, and an export's entry of 30 s
-- or more (an episode's too). A streak is cut at the range's ends; a tie in days goes to the
-- later streak.
WITH stream_days AS (
    SELECT played_date, count(*) AS streams
    FROM plays
    WHERE account_id = ?
        AND played_month BETWEEN substr(?, 1, 7) AND substr(?, 1, 7)
        AND played_date BETWEEN ? AND ?
        AND (coalesce(source, 'api') <> 'export' OR ms_played >= 30000)
    GROUP BY played_date
),
numbered AS (
    SELECT
        played_date,
        streams,
        date_diff('day', DATE '1970-01-01', date(played_date))
            - row_number() OVER (ORDER BY played_date) AS streak
    FROM stream_days
),
streaks AS (
    SELECT
        min(played_date) AS first_day,
        max(played_date) AS last_day,
        count(*) AS days,
        sum(streams) AS streams
    FROM numbered
    GROUP BY streak
),
ranked AS (
    SELECT
        row_number() OVER (ORDER BY days DESC, last_day DESC) AS rank,
        first_day,
        last_day,
        days,
        streams
    FROM streaks
)
SELECT CAST(first_day AS date) AS first_day, CAST(last_day AS date) AS last_day, days, streams
FROM ranked
WHERE rank <= ?
ORDER BY rank
