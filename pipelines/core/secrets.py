"""RPC URLs as secrets: parse them without losing a character, and mask them everywhere a run can write one.

A node URL often carries an API key in its user info (`https://user:KEY@host/`), its path (`/v2/KEY`) or its query
(`?apikey=KEY`), and a key may hold any character.  `urllib.parse.urlsplit` cuts such a URL at the first `#` (a
fragment) or `/` (the path), so `http://user:PASSA#PASSB@host/` became host `user`, port `PASSA`: half the password
in an error message.  Here the authority ends at the last `@` that is followed by a host, so a `#`, `/`, `?` or `@`
inside the user info belongs to the password; everything after the host (path, query, and a `#` in them, which a
JSON-RPC URL never means as a fragment) is kept and sent.

`mask_url` shows scheme, host and port only (`https://***@host:8545/***`); `secret_parts` lists every substring a
run must never write (raw, percent-decoded and percent-encoded forms), for scrubbing free text.
"""
import base64
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

MASK = "***"
# host: a DNS name, an IPv4 address or a bracketed IPv6 address; then an optional port; then the end or a path,
# query or fragment
_HOST = r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.\-_]*[A-Za-z0-9])?)(?::(?P<port>\d{1,5}))?"
_AFTER_AT = re.compile(_HOST + r"(?P<rest>[/?#].*)?\Z", re.S)
_HOST_PORT_PATH = re.compile(r"\A[A-Za-z0-9.\-_\[\]]+:\d{1,5}[/?#]")  # host:port/... : a '@' after it is the path's
_SCHEME = re.compile(r"\A(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?P<tail>.*)\Z", re.S)
# what may stand as it is in an HTTP request target (RFC 3986 pchar, '/', '?', and '%' of an existing escape)
_SAFE_TARGET = "/?:@!$&'()*+,;=-._~%"


class UrlError(ValueError):
    """The text is not a URL this client can use; the message never holds the URL's secrets."""


@dataclass(frozen=True)
class RpcUrl:
    scheme: str
    host: str
    port: int | None
    username: str  # percent-decoded
    password: str | None  # percent-decoded; None when the user info has no ':'
    userinfo: str  # as written
    rest: str  # path, query (and any '#...') as written

    @property
    def target(self) -> str:
        """The HTTP request target: path and query, with spaces, '#', non-ASCII and controls percent-encoded."""
        rest = self.rest or "/"
        if rest[0] != "/":
            rest = "/" + rest
        return quote(rest, safe=_SAFE_TARGET, encoding="utf-8")

    @property
    def authorization(self) -> str | None:
        if not self.userinfo:
            return None
        cred = f"{self.username}:{self.password or ''}".encode("utf-8")
        return "Basic " + base64.b64encode(cred).decode()

    @property
    def masked(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        user = f"{MASK}@" if self.userinfo else ""
        path = f"/{MASK}" if self.rest.strip("/") else ""
        return f"{self.scheme}://{user}{self.host}{port}{path}"


def parse_rpc_url(url: str) -> RpcUrl:
    """Split an http(s) URL into its parts, keeping every character of user info, path and query."""
    if not isinstance(url, str) or not url.strip():
        raise UrlError("empty URL")
    m = _SCHEME.match(url.strip())
    if not m:
        raise UrlError("expected scheme://host..., found no '://'")
    scheme, tail = m.group("scheme").lower(), m.group("tail")
    userinfo, hostpart = "", tail
    # the authority ends at the last '@' followed by a host: '#', '/', '?' and '@' before it are the password's
    for i in range(len(tail) - 1, -1, -1):
        if tail[i] != "@":
            continue
        cand, after = tail[:i], tail[i + 1:]
        if not _AFTER_AT.match(after):
            continue
        user = cand.split(":", 1)[0]
        if ":" not in cand and any(c in cand for c in "/?#"):
            continue  # an '@' in a path or query (https://host/key@x): no password follows a ':' here
        if any(c in user for c in "/?#") or _HOST_PORT_PATH.match(cand):
            continue
        userinfo, hostpart = cand, after
        break
    h = _AFTER_AT.match(hostpart)
    if not h:
        raise UrlError("no valid host after '://'")
    port = int(h.group("port")) if h.group("port") else None
    if port is not None and not 0 < port < 65536:
        raise UrlError(f"port {port} is out of range 1-65535")
    username, password = (userinfo.split(":", 1) + [None])[:2] if userinfo else ("", None)
    return RpcUrl(scheme=scheme, host=h.group("host").lower(), port=port, username=unquote(username),
                  password=None if password is None else unquote(password), userinfo=userinfo,
                  rest=h.group("rest") or "")


def mask_url(url: str) -> str:
    """Scheme, host and port only; user info, path and query become ***.  'devnet' and '' stay as they are."""
    if not url or url == "devnet":
        return url
    try:
        return parse_rpc_url(url).masked
    except UrlError:
        m = _SCHEME.match(url.strip()) if isinstance(url, str) else None
        return f"{m.group('scheme').lower()}://{MASK}" if m else MASK


def secret_parts(url: str) -> list[str]:
    """Every substring of `url` that may hold a key, in the forms a message could show it (as written,
    percent-decoded, percent-encoded), longest first.  Parts of fewer than 3 characters are left out (they would
    scrub ordinary text); '/' alone is no secret."""
    if not url or url == "devnet":
        return []
    out: set[str] = {url, url.strip()}
    try:
        u = parse_rpc_url(url)
        pieces = [u.userinfo, *u.userinfo.split(":", 1), u.username, u.password or "", u.rest, u.target]
        pieces += re.split(r"[/?&=#;:@]", u.rest)
        pieces += [u.rest.split("?", 1)[0], u.rest.split("?", 1)[1] if "?" in u.rest else ""]
        if u.authorization:
            pieces.append(u.authorization.split(" ", 1)[1])
    except UrlError:
        m = _SCHEME.match(url.strip())
        pieces = [m.group("tail")] if m else []
        pieces += re.split(r"[/?&=#;:@]", url)
    for p in pieces:
        for form in (p, unquote(p), quote(p, safe=""), quote(p, safe=_SAFE_TARGET)):
            if len(form) >= 3 and form.strip("/"):
                out.add(form)
    return sorted(out, key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    """`text` with every secret part of `url` replaced by ***."""
    for s in secret_parts(url):
        text = text.replace(s, MASK)
    return text
