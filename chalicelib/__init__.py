"""Everything the Lambda functions run: settings, Spotify extract, lake, transform, query."""
