"""Turn the account model into the JSON objects of the Spotify Web API."""

from typing import Any

from emulator.account import Entry, Play, Playlist, SavedTrack, User
from emulator.catalog import MARKETS, Album, Artist, Catalog, Episode, LocalFile, Track
from emulator.ids import base62, iso_millis, iso_seconds

Json = dict[str, Any]
OPEN = "https://open.spotify.com"


def _image(key: str, size: int | None) -> Json:
    return {"url": f"https://i.scdn.co/image/ab67616d0000{base62(24, key)}", "height": size,
            "width": size}  # fmt: skip


class Renderer:
    """Renders catalog and account objects with hrefs on the emulator's own host."""

    def __init__(self, catalog: Catalog, base: str) -> None:
        self.catalog, self.base = catalog, base

    def _links(self, kind: str, object_id: str, path: str | None = None) -> Json:
        return {
            "external_urls": {"spotify": f"{OPEN}/{kind}/{object_id}"},
            "href": f"{self.base}/{path or kind + 's'}/{object_id}",
            "id": object_id,
            "type": kind,
            "uri": f"spotify:{kind}:{object_id}",
        }

    def user(self, user: User) -> Json:
        """A PlaylistOwnerObject."""
        return {**self._links("user", user.id), "display_name": user.display_name}

    def added_by(self, user_id: str | None) -> Json | None:
        """A PlaylistUserObject, or None on very old playlists."""
        return None if user_id is None else self._links("user", user_id)

    def artist_simple(self, artist: Artist) -> Json:
        """A SimplifiedArtistObject."""
        return {**self._links("artist", artist.id), "name": artist.name}

    def artist(self, artist: Artist) -> Json:
        """An ArtistObject, without the deprecated fields Spotify left out."""
        body = {**self.artist_simple(artist), "images": [_image(artist.id, 640)]}
        if artist.popularity is not None:
            body["popularity"] = artist.popularity
        if artist.followers is not None:
            body["followers"] = {"href": None, "total": artist.followers}
        if artist.genres is not None:
            body["genres"] = list(artist.genres)
        return body

    def _artists(self, artist_ids: tuple[str, ...]) -> list[Json]:
        return [self.artist_simple(self.catalog.artists[a]) for a in artist_ids]

    def album_simple(self, album: Album) -> Json:
        """A SimplifiedAlbumObject."""
        body = {
            **self._links("album", album.id),
            "album_type": album.album_type,
            "artists": self._artists(album.artist_ids),
            "images": [_image(album.id, 640), _image(album.id + "s", 300)],
            "name": album.name,
            "release_date": album.release_date,
            "release_date_precision": album.release_date_precision,
            "total_tracks": len(album.track_ids),
        }
        if album.has_markets:
            body["available_markets"] = list(MARKETS)
        return body

    def album(self, album: Album, tracks_page: Json) -> Json:
        """An AlbumObject with its first page of tracks."""
        body = {
            **self.album_simple(album),
            "tracks": tracks_page,
            "copyrights": [{"text": f"℗ {album.release_date[:4]} {album.name}", "type": "P"}],
            "external_ids": {"upc": album.upc},
            "genres": [],
        }
        if album.label is not None:
            body["label"] = album.label
        if album.popularity is not None:
            body["popularity"] = album.popularity
        return body

    def track_simple(self, track: Track) -> Json:
        """A SimplifiedTrackObject, as listed in an album; a relinked track is its playable
        copy, naming the track in `linked_from`."""
        body = {
            **self._links("track", track.playable_id or track.id),
            "artists": self._artists(track.artist_ids),
            "disc_number": 1,
            "duration_ms": track.duration_ms,
            "explicit": track.explicit,
            "is_local": False,
            "name": track.name,
            "preview_url": None,
            "track_number": track.track_number,
        }
        if track.has_markets:
            body["available_markets"] = list(MARKETS)
        if track.playable_id is not None:
            body["linked_from"] = self._links("track", track.id)
        return body

    def track(self, track: Track) -> Json:
        """A TrackObject."""
        body = {
            **self.track_simple(track),
            "album": self.album_simple(self.catalog.albums[track.album_id]),
            "external_ids": {"isrc": track.isrc},
        }
        if track.popularity is not None:
            body["popularity"] = track.popularity
        return body

    def local_track(self, local: LocalFile) -> Json:
        """The track-shaped object Spotify gives a local file: no IDs, no links."""
        nothing = {"external_urls": {}, "href": None, "id": None, "uri": None}
        return {
            **nothing,
            "album": {**nothing, "album_type": None, "artists": [], "available_markets": [],
                      "images": [], "name": local.album, "release_date": None,
                      "release_date_precision": None, "type": "album"},  # fmt: skip
            "artists": [{**nothing, "name": local.artist, "type": "artist"}],
            "available_markets": [],
            "disc_number": 0,
            "duration_ms": local.seconds * 1000,
            "explicit": False,
            "external_ids": {},
            "is_local": True,
            "name": local.title,
            "popularity": 0,
            "preview_url": None,
            "track_number": 0,
            "type": "track",
            "uri": local.uri,
        }

    def _show(self, show_id: str) -> Json:
        show = self.catalog.shows[show_id]
        return {
            **self._links("show", show.id),
            "available_markets": list(MARKETS),
            "copyrights": [],
            "description": f"{show.name}, by {show.publisher}.",
            "html_description": f"<p>{show.name}, by {show.publisher}.</p>",
            "explicit": False,
            "images": [_image(show.id, 640)],
            "is_externally_hosted": False,
            "languages": ["en"],
            "media_type": "audio",
            "name": show.name,
            "publisher": show.publisher,
            "total_episodes": len(show.episode_ids),
        }

    def episode(self, episode: Episode) -> Json:
        """An EpisodeObject."""
        return {
            **self._links("episode", episode.id),
            "audio_preview_url": None,
            "description": f"Episode of {self.catalog.shows[episode.show_id].name}.",
            "html_description": f"<p>Episode of {self.catalog.shows[episode.show_id].name}.</p>",
            "duration_ms": episode.duration_ms,
            "explicit": False,
            "images": [_image(episode.id, 640)],
            "is_externally_hosted": False,
            "is_playable": True,
            "language": "en",
            "languages": ["en"],
            "name": episode.name,
            "release_date": episode.release_date,
            "release_date_precision": episode.release_date_precision,
            "show": self._show(episode.show_id),
        }

    def episode_as_track(self, episode: Episode) -> Json:
        """The track-shaped object Spotify gives an episode when episodes were not asked for."""
        show = self.catalog.shows[episode.show_id]
        show_as_artist = {**self._links("show", show.id), "name": show.publisher}
        return {
            **self._links("episode", episode.id),
            "album": {**self._links("show", show.id), "album_type": "show",
                      "artists": [show_as_artist], "available_markets": list(MARKETS),
                      "images": [_image(show.id, 640)], "name": show.name,
                      "release_date": episode.release_date,
                      "release_date_precision": episode.release_date_precision,
                      "total_tracks": len(show.episode_ids)},  # fmt: skip
            "artists": [show_as_artist],
            "available_markets": list(MARKETS),
            "disc_number": 0,
            "duration_ms": episode.duration_ms,
            "episode": True,
            "explicit": False,
            "external_ids": {"spotify": f"{OPEN}/episode/{episode.id}"},
            "is_local": False,
            "name": episode.name,
            "popularity": 0,
            "preview_url": None,
            "track": False,
            "track_number": 0,
        }

    def _entry_object(self, entry: Entry, with_episodes: bool) -> Json | None:
        if entry.kind == "track":
            return {**self.track(self.catalog.tracks[entry.ref]), "episode": False, "track": True}
        if entry.kind == "local":
            return self.local_track(self.catalog.local_files[entry.ref])
        if entry.kind == "episode":
            episode = self.catalog.episodes[entry.ref]
            return self.episode(episode) if with_episodes else self.episode_as_track(episode)
        return None

    def entry(self, entry: Entry, field_names: str, with_episodes: bool) -> Json:
        """A PlaylistTrackObject carrying `track`, `item` or both."""
        body = {
            "added_at": None if entry.added_at is None else iso_seconds(entry.added_at),
            "added_by": self.added_by(entry.added_by),
            "is_local": entry.kind == "local",
            "primary_color": None,
            "video_thumbnail": {"url": None},
        }
        content = self._entry_object(entry, with_episodes)
        for name in ("track", "item"):
            if field_names in (name, "both"):
                body[name] = content
        return body

    def _items_ref(self, playlist: Playlist, value: Json) -> Json:
        names = {"both": ("items", "tracks")}.get(playlist.ref_field, (playlist.ref_field,))
        return {name: value for name in names}

    def playlist_simple(self, playlist: Playlist) -> Json:
        """A SimplifiedPlaylistObject with its items reference."""
        reference = {"href": f"{self.base}/playlists/{playlist.id}/items",
                     "total": len(playlist.entries)}  # fmt: skip
        return {
            **self._links("playlist", playlist.id),
            "collaborative": playlist.collaborative,
            "description": playlist.description,
            "images": [_image(playlist.id, 640 if playlist.kind == "editorial" else None)],
            "name": playlist.name,
            "owner": self.user(playlist.owner),
            "public": playlist.public,
            "snapshot_id": playlist.snapshot_id,
            **self._items_ref(playlist, reference),
        }

    def playlist(self, playlist: Playlist, entries_page: Json) -> Json:
        """A PlaylistObject with its first page of entries."""
        body = self.playlist_simple(playlist)
        body["followers"] = {"href": None, "total": playlist.followers}
        return {**body, **self._items_ref(playlist, entries_page)}

    def saved_track(self, saved: SavedTrack) -> Json:
        """A SavedTrackObject."""
        track = self.catalog.tracks[saved.track_id]
        return {"added_at": iso_seconds(saved.added_at), "track": self.track(track)}

    def play(self, play: Play) -> Json:
        """A PlayHistoryObject."""
        context = None
        if play.context is not None:
            kind, object_id = play.context
            context = {k: v for k, v in self._links(kind, object_id).items() if k != "id"}
        return {
            "track": self.track(self.catalog.tracks[play.track_id]),
            "played_at": iso_millis(play.played_at_ms),
            "context": context,
        }
