"""Rate limits of respondent links: per link for valid tokens, per address only for failed look-ups.

After an SMS blast, thousands of respondents may reach the site from one address (a carrier's NAT,
or the reverse proxy when SURVEY_PROXY_FIX_X_FOR is not set), so a valid link never counts against
its address: it has its own budget. Look-ups of unknown or malformed tokens count against the client
address, in one budget shared by every respondent route, so that guessing is slow wherever it is
tried; an address that has spent that budget is refused (429) until the minute is over.
"""

import hashlib

from flask import g, request
from flask_limiter.util import get_remote_address

from survey.extensions import limiter

FAILED_LOOKUPS = "30 per minute"  # unknown or malformed tokens, per client address
LOOKUPS = "30 per minute"  # landing, start, resume, thanks: per link and route
PAGES = "120 per minute"  # question pages shown and saved: per link


def lookup_failed() -> None:
    """Note that this request named a token that matches no invitation."""
    g.token_lookup_failed = True


def _counts_as_failure(_response) -> bool:
    """Deduct from the address's budget only when the request's token matched nothing."""
    return g.get("token_lookup_failed", False)


def token_key() -> str:
    """Key a limit on the link: a hash of the token (the token itself is never stored)."""
    token = (request.view_args or {}).get("token", "")
    return "link:" + hashlib.sha256(token.encode()).hexdigest()[:32]


# Checked before the view (an exhausted address gets 429), deducted after it, for failures only.
failed_lookups = limiter.shared_limit(FAILED_LOOKUPS, scope="respondent-token-lookups",
                                      key_func=get_remote_address, deduct_when=_counts_as_failure)
lookups = limiter.limit(LOOKUPS, key_func=token_key)
pages = limiter.limit(PAGES, key_func=token_key)
