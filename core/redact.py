"""Credentials out of any text Triage shows, logs, records or sends: the one masking function.

Every place that prints, logs, audits or comments text that may hold a URL or an error
message passes it through `mask`: user info in a URL (`https://TOKEN@host`,
`https://user:pass@host`, `https://:pass@host`, a password with `@` in it), secret query
parameters (`?password=`, `&token=`, `access_token=`…) and `Authorization:` header values.
"""

from __future__ import annotations

import re

MASK = "***"
"""What a hidden credential is shown as."""

# scheme://USERINFO@ — the user info runs to the last "@" before the host's first "/",
# so a password that holds an "@" is hidden whole.
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<info>[^/\s?#]*)@")
_SECRET_PARAM = re.compile(
    r"(?P<name>[?&;](?:password|passwd|pwd|pass|token|secret|api[_-]?key|apikey"
    r"|access[_-]?token|auth[_-]?token|private[_-]?token|client[_-]?secret)=)"
    r"(?P<value>[^&;#\s]+)",
    re.IGNORECASE,
)
_AUTH_HEADER = re.compile(
    r"(?P<name>\bauthorization\s*[:=]\s*(?:bearer|basic|token)?\s*)(?P<value>[^\s,;]+)",
    re.IGNORECASE,
)
# Text holding none of these holds no credential of the shapes above: returned as it is.
_MAYBE = re.compile(r"[@=]|authorization", re.IGNORECASE)
# A lone user name over ssh names an account, not a secret (ssh://git@host).
_USER_NAME_SCHEMES = ("ssh://", "git+ssh://", "ssh+git://", "sftp://")


def _userinfo(match: re.Match[str]) -> str:
    scheme, info = match["scheme"], match["info"]
    if info in ("", MASK) or info.endswith(":" + MASK):
        return match[0]
    user, colon, _password = info.partition(":")
    if colon:
        return f"{scheme}{user}:{MASK}@"
    if scheme.lower() in _USER_NAME_SCHEMES:
        return match[0]
    return f"{scheme}{MASK}@"


def mask(text: str) -> str:
    """`text` with every credential it holds replaced by ***; the rest left as it was."""
    if not text or not _MAYBE.search(text):
        return text
    text = _USERINFO.sub(_userinfo, text)
    text = _SECRET_PARAM.sub(lambda m: m["name"] + MASK, text)
    return _AUTH_HEADER.sub(lambda m: m["name"] + MASK, text)
