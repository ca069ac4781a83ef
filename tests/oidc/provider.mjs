// A conformant OpenID provider for the tests: `oidc-provider` (certified by the OpenID
// Foundation) on loopback, with its built-in login form (devInteractions: any password) and
// consent granted for the one client, so a test or a browser signs in by typing an account id.
//
// Everything comes from one JSON document in the environment (QINQING_TEST_PROVIDER):
//   { "port": 0, "issuer": "http://localhost:PORT", "client": { client_id, client_secret,
//     redirect_uris, post_logout_redirect_uris }, "accounts": { id: { name, uscc?, groups? } },
//     "api_audience": "urn:qinqing:api" }
// Access tokens are JWTs (RS256) for the API audience, carrying the same uscc and groups claims
// as the ID token. The first line on stdout is `listening <port>` once it is ready.
import Provider from 'oidc-provider';

const config = JSON.parse(process.env.QINQING_TEST_PROVIDER);
const accounts = config.accounts;
const audience = config.api_audience;

function claimsOf(id) {
  const account = accounts[id];
  const claims = { sub: id, name: account.name };
  if (account.uscc !== undefined) claims.uscc = account.uscc;
  if (account.groups !== undefined) claims.groups = account.groups;
  return claims;
}

const provider = new Provider(config.issuer, {
  clients: [{ ...config.client, grant_types: ['authorization_code'], response_types: ['code'] }],
  claims: { openid: ['sub'], profile: ['name', 'uscc', 'groups'] },
  conformIdTokenClaims: false, // the profile claims go into the ID token itself
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        // One button confirms the sign-out (the default page has two, and fetches a web font).
        ctx.body = `<!DOCTYPE html><html><body>${form}<p>Signing out ...</p>
          <button form="op.logoutForm" type="submit" name="logout" value="yes" id="confirm-logout">
          Sign out</button></body></html>`;
      },
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'api',
        audience,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  async findAccount(ctx, id) {
    if (!(id in accounts)) return undefined;
    return { accountId: id, claims: async () => claimsOf(id) };
  },
  async extraTokenClaims(ctx, token) {
    if (!token.accountId || !(token.accountId in accounts)) return undefined;
    const { uscc, groups } = claimsOf(token.accountId);
    return { uscc, groups };
  },
  async loadExistingGrant(ctx) {
    // The portal is the provider's own first-party client: consent is implied, never asked.
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile');
    grant.addOIDCClaims(['name', 'uscc', 'groups']);
    grant.addResourceScope(audience, 'api');
    await grant.save();
    return grant;
  },
  ttl: { AccessToken: 600, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
});
provider.proxy = false;

const server = provider.listen(config.port, '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
