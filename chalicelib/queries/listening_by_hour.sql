-- description: Plays between two dates by ISO weekday (1 = Monday .. 7 = Sunday) and hour of day, both in UTC.
-- param: start_date date default=today-30 "first played date, inclusive"
-- param: end_date date default=today "last played date, inclusive"
-- param: account account "the listener's Spotify user ID (required where the lake holds several accounts)"
-- bind: account, start_date, end_date, start_date, end_date
-- reads: plays from start_date to end_date
-- A play counts as Spotify counts a stream: every play the API saw, and an export's entry
-- of 30 s or more.
SELECT
    day_of_week(played_at) AS weekday,
    hour(played_at) AS hour,
    count(*) AS plays
FROM plays
WHERE account_id = ?
    AND played_month BETWEEN substr(?, 1, 7) AND substr(?, 1, 7)
    AND played_date BETWEEN ? AND ?
    AND (coalesce(source, 'api') <> 'export' OR ms_played >= 30000)
GROUP BY day_of_week(played_at), hour(played_at)
ORDER BY weekday, hour
