"""Export entries as Spotify writes them, personal fields included, for the import tests."""

from __future__ import annotations

PERSONAL = {
    "ip_addr": "92.40.248.131",
    "ip_addr_decrypted": "10.9.8.7",
    "user_agent_decrypted": "Mozilla/5.0 (X11; Linux x86_64)",
    "username": "real-username-0f3a",
}


def export_entry(ts: str, track_id: str | None, ms_played: int = 183_000, **fields) -> dict:
    """One entry of Streaming_History_Audio_*.json ending at `ts` (ISO, seconds)."""
    return {
        "ts": ts,
        "platform": "Android OS 14 API 34 (Google, Pixel 8)",
        "ms_played": ms_played,
        "conn_country": "NL",
        "master_metadata_track_name": f"name of {track_id}",
        "master_metadata_album_artist_name": "An Artist",
        "master_metadata_album_album_name": "An Album",
        "spotify_track_uri": f"spotify:track:{track_id}" if track_id else None,
        "episode_name": None,
        "episode_show_name": None,
        "spotify_episode_uri": None,
        "reason_start": "trackdone",
        "reason_end": "trackdone",
        "shuffle": False,
        "skipped": ms_played < 30_000,
        "offline": False,
        "offline_timestamp": 0,
        "incognito_mode": False,
        **PERSONAL,
        **fields,
    }
