"""Who an OpenID provider says someone is: its discovery and keys, its tokens verified, its
claims mapped to the portal's roles and firms. Below the API (which takes the provider's access
tokens) and the sign-in (which takes its ID tokens); owns no table.

    provider.py   OpenIdProvider: discovery, cached JWKS (refetched on an unknown key id), the
                  code exchange, ID and access tokens verified (signature, iss, aud/azp, exp,
                  iat, nonce)
    claims.py     Identity; claims -> role (QINQING_OIDC_ROLE_MAP) or firm (its USCC valid and
                  registered)
    bearer.py     an API bearer token -> Principal (provider JWT, or a locally minted one)
    errors.py     IdentityRefused
"""
