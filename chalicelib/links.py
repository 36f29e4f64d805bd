"""Expiring signed links to the dashboard, so a browser can open it without the API key.

A link is `<api>/view/dashboard?account=<id>&expires=<unix seconds>&signature=<hex>`, the
signature an HMAC-SHA256 over the dashboard's path, the account and the expiry with the
stage's link key: in AWS a secret in Secrets Manager (`DASHBOARD_KEY_SECRET_ID`, which
glue/setup.py creates), locally `DASHBOARD_KEY` (in `.env`). Changing the account, the expiry
or the signature breaks it; it is compared in constant time. The signature opens that
account's pages only: the dashboard and its years in review
(`<api>/view/recap/2025?account=…&expires=…&signature=…`, which a link can also lead to).
What is not signed, the date range (`start_date`, `end_date`) and the year, chooses what of
them to show.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from chalicelib.errors import ConfigError, ValidationError
from chalicelib.settings import Settings

PATH = "/view/dashboard"
RECAP_PATH = "/view/recap"
DEFAULT_HOURS = 1
MIN_HOURS = 1 / 60  # a minute: a link that expires as it is made helps nobody
MAX_HOURS = 7 * 24
MIN_KEY_LENGTH = 32  # characters: the 64 hex digits setup makes, or a local key as long
SIGNED = ("account", "expires", "signature")


class LinkRefused(ValidationError):
    """A link that is expired, altered or not a link; the page says how to get a new one."""


@dataclass(frozen=True)
class Link:
    url: str
    expires: int

    def to_json(self) -> dict[str, Any]:
        expires_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.expires))
        return {"url": self.url, "expires": self.expires, "expires_at": expires_at}


def signature(key: str, path: str, expires: int, account: str) -> str:
    signed = f"{path}\n{account}\n{expires}".encode()
    return hmac.new(key.encode(), signed, hashlib.sha256).hexdigest()


def base_url_of(url: str) -> str:
    """The API's URL as a link is built on: http(s), no query, no trailing /view/dashboard."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError(f"{url!r} is not the API's URL; give it as https://…/api")
    if parts.query or parts.fragment:
        raise ValidationError(f"the API's URL {url!r} takes no query or fragment")
    path = parts.path.rstrip("/").removesuffix(PATH)
    return f"{parts.scheme}://{parts.netloc}{path}"


def make(
    key: str,
    base_url: str,
    hours: float,
    account: str,
    now: float | None = None,
    *,
    recap: int | None = None,
) -> Link:
    """A link to `account`'s dashboard under `base_url` (the API's URL), or to the `recap`
    year's review, valid for `hours`."""
    if not MIN_HOURS <= hours <= MAX_HOURS:
        raise ValidationError(
            f"hours must be from {MIN_HOURS:.4f} (a minute) to {MAX_HOURS}, not {hours}"
        )
    expires = int((time.time() if now is None else now) + hours * 3600)
    signature_ = signature(key, PATH, expires, account)
    signed = f"account={quote(account)}&expires={expires}&signature={signature_}"
    page = PATH if recap is None else f"{RECAP_PATH}/{recap}"
    return Link(f"{base_url_of(base_url)}{page}?{signed}", expires)


def check(key: str, params: dict[str, str], now: float | None = None) -> str:
    """The account a link opens, refusing the link unless its signature is the key's over
    the path, the account and an expiry still to come (and no further off than a link can be
    made for)."""
    given, expires = params.get("signature", ""), params.get("expires", "")
    account = params.get("account", "")
    if not expires.isdigit() or len(expires) > 12 or not given or not account:
        raise LinkRefused(
            "this is not a whole dashboard link: it needs account, expires and signature"
        )
    wanted = signature(key, PATH, int(expires), account)
    if not hmac.compare_digest(wanted.encode(), given.encode()):
        raise LinkRefused("this dashboard link was changed: its signature does not match")
    current = time.time() if now is None else now
    if int(expires) <= current:
        raise LinkRefused("this dashboard link has expired")
    if int(expires) > current + MAX_HOURS * 3600 + 60:
        raise LinkRefused("this dashboard link expires later than any link can be made for")
    return account


def key_of(settings: Settings, secrets_client: Any = None) -> str:
    """The stage's link key: DASHBOARD_KEY, or the secret DASHBOARD_KEY_SECRET_ID names."""
    if settings.dashboard_key:
        return settings.dashboard_key
    secret_id = settings.dashboard_key_secret_id
    if not secret_id:
        raise ConfigError(
            "dashboard links are not set up: set DASHBOARD_KEY (at least 32 characters, "
            "locally in .env) or DASHBOARD_KEY_SECRET_ID (in AWS; glue/setup.py creates it)"
        )
    from chalicelib.secrets import refused, secrets_manager

    client = secrets_client or secrets_manager()
    try:
        text = client.get_secret_value(SecretId=secret_id)["SecretString"]
    except Exception as error:
        raise refused(error, secret_id, "read", "glue/setup.py --stage STAGE creates it") from None
    try:
        key = json.loads(text)["key"]
    except (ValueError, KeyError, TypeError):
        key = None
    if not isinstance(key, str) or len(key) < MIN_KEY_LENGTH:
        raise ConfigError(f"secret {secret_id} must be JSON with a key of 32+ characters")
    return key
