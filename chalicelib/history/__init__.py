"""The account's whole listening history, from Spotify's privacy export."""
