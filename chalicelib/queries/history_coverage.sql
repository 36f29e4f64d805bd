-- description: Which days between two dates (UTC) each source covers: plays seen by the API alone, by an export alone, and by both.
-- param: start_date date default=today-365 "first played date, inclusive"
-- param: end_date date default=today "last played date, inclusive"
-- param: account account "the listener's Spotify user ID (required where the lake holds several accounts)"
-- bind: account, start_date, end_date, start_date, end_date
-- reads: plays from start_date to end_date
SELECT
    played_date,
    count(*) AS plays,
    count_if(coalesce(source, 'api') = 'api') AS api_only,
    count_if(source = 'export') AS export_only,
    count_if(source = 'api+export') AS both_sources
FROM plays
WHERE account_id = ?
    AND played_month BETWEEN substr(?, 1, 7) AND substr(?, 1, 7)
    AND played_date BETWEEN ? AND ?
GROUP BY played_date
ORDER BY played_date
