"""Credentials kept out of sight: which names are secrets, and URLs and keyword sets with their secrets masked.

Used wherever lexi shows or writes settings (repr, saved chats, error messages, streams' reprs)."""
from __future__ import annotations
import re
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = ['secret_name', 'redact_url', 'redact']

# Names of credentials: api_key, Authorization, X-Custom-Auth, x-api-key, access_token, ... (not max_tokens:
# 'tokens' counts; not author)
_SECRET_NAME = re.compile(r'key|secret|passw|authoriz|auth(?!or)|credential|cookie|token(?!s)', re.IGNORECASE)
# Query parameters that carry a credential under a short name (Azure SAS 'sig', signed URLs, basic 'pwd')
_SECRET_QUERY = re.compile(r'sig|signature|pwd|pass|code', re.IGNORECASE)


def secret_name(name) -> bool:
    "True for a keyword, header or variable named like a credential."
    return bool(_SECRET_NAME.search(str(name)))


def redact_url(url: str, mask: str | None = '***') -> str:
    """`url` with its userinfo (`user:KEY@`) and the values of secret-named query parameters (`?key=`, `sig=`,
    `access_token=`, ...) replaced by `mask`, or removed when `mask` is None. A str that is not a URL is returned
    as it is; one that only looks like a broken URL is masked whole (it cannot be told apart from a secret)."""
    if not isinstance(url, str) or '://' not in url: return url
    start = re.search(r'[A-Za-z][A-Za-z0-9+.-]*://', url)   # a model name may carry one: 'openai/https://user:KEY@host'
    if start is None: return mask or ''
    if start.start(): return url[:start.start()] + redact_url(url[start.start():], mask)
    try: parts = urlsplit(url)
    except ValueError: return mask or ''
    netloc = parts.netloc
    if '@' in netloc:
        host = netloc.rsplit('@', 1)[1]
        netloc = host if mask is None else f'{mask}@{host}'
    query = []
    for item in parts.query.split('&') if parts.query else []:
        name = unquote(item.split('=', 1)[0])
        if not (secret_name(name) or _SECRET_QUERY.fullmatch(name)): query.append(item)
        elif mask is not None: query.append(f'{item.split("=", 1)[0]}={mask}')
    return urlunsplit((parts.scheme, netloc, parts.path, '&'.join(query), parts.fragment))


def redact(kwargs: Mapping) -> dict:
    """`kwargs` with secret-looking values shown as '***': api_key, headers named like authorization, auth or
    keys (at any depth), and credentials inside URLs (api_base='https://user:KEY@host/?key=...')."""
    def clean(k, v):
        if secret_name(k): return '***'
        if isinstance(v, Mapping): return {hk: clean(hk, hv) for hk, hv in v.items()}
        if isinstance(v, (list, tuple)): return type(v)(clean('', x) for x in v)
        return redact_url(v)
    return {k: clean(k, v) for k, v in kwargs.items()}
