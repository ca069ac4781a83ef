"""Signing in to the portal: one-time sign-in codes and server-side sessions.

Whatever proves who someone is (a one-time code from a sign-in link, a pasted bearer token, one
day a government OpenID sign-in) ends in `service.open_session`, which stores the principal in a
`portal_session` row and gives back a random session id for the cookie; only hashes of session
ids and codes are stored, so a copy of the database opens no session. `service.resume` turns a
cookie back into the principal while the session is neither revoked, past its absolute end
(`QINQING_SESSION_HOURS`) nor idle too long (`QINQING_SESSION_IDLE_MINUTES`); `service.close`
(sign-out) revokes it, so a replayed cookie signs nobody in. Opening and closing are audited.

    models.py       portal_session, sign_in_code
    repository.py   the queries: by hash, the conditional "use this code once", purge
    service.py      issue_code / peek_code / redeem_code; sign_in_with_code / _with_token, which
                    end in open_session; resume / close; purge
    errors.py       SignInRefused (a code or session that no longer signs in, and why)
    cli.py          `qinqing sign-in link`, `qinqing sign-in purge`
"""
