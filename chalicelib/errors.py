"""All of the project's exceptions, each with a message that says what to do."""


class PipelineError(Exception):
    """Base class: a failure the pipeline understands and can report."""


class ConfigError(PipelineError):
    """A setting is missing or malformed; the message names the variable."""


class LakeError(PipelineError):
    """Reading or writing the lake failed."""


class ConflictError(LakeError):
    """A conditional write lost a race: the object changed since it was read; read it again."""


class NotFoundError(PipelineError):
    """A run, query, execution or lake object that does not exist."""


class ValidationError(PipelineError):
    """A caller sent something malformed (a parameter, a body, an ID)."""


class SpotifyError(PipelineError):
    """The Spotify API answered with an error we cannot work around."""

    def __init__(self, message: str, status: int | None = None, reason: str | None = None):
        super().__init__(message)
        self.status = status
        self.reason = reason


class AuthError(SpotifyError):
    """Credentials were refused; the user must re-authorize."""


class CutShortError(SpotifyError):
    """The run must stop early: what it fetched is kept and the next run resumes from there."""


class RateLimitedError(CutShortError):
    """Spotify asked us to wait longer than this run can afford."""

    def __init__(self, message: str, retry_after: float, reason: str | None = None):
        super().__init__(message, status=429, reason=reason)
        self.retry_after = retry_after


class OutOfTimeError(CutShortError):
    """The Lambda's remaining time is too short for another request."""


class UnavailableError(CutShortError):
    """Spotify kept failing one request (429s, 5xx or timeouts) past the retry budget."""


class BadRawDataError(PipelineError):
    """Raw input that cannot be transformed; it goes to quarantine/."""


class QueryError(PipelineError):
    """A query failed, was cancelled or timed out on the engine."""


def shown(value: object, limit: int = 40) -> str:
    """A value as a message quotes it: its repr, cut to a short prefix when long."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f"{len(value):,} characters" if isinstance(value, str) else f"{len(text):,} characters"
    return f"{text[:limit]}… ({size})"
