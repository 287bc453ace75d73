// A real OpenID Connect provider for termaudit's tests: the npm package
// oidc-provider (pinned in package-lock.json), on a loopback port, with one
// public test client and test users. Started by the harness
// (tests/src/oidc.rs), which reads the first line it prints:
//   {"issuer":"http://127.0.0.1:PORT"}
//
// Environment:
//   OIDC_NODE_MODULES  the node_modules scripts/ensure-tools.sh installed
//   OIDC_STATE_DIR     where keys.json is written (the private keys, for the
//                      harness to forge tokens with the provider's own keys)
//   OIDC_PORT          the port (0: a free one)
//   OIDC_REDIRECT_URIS comma-separated redirect URIs of the test client
//   OIDC_ID_TOKEN_TTL  ID tokens' lifetime in seconds (default 3600)
//
// Sign-in uses oidc-provider's development interactions: any login with any
// password; consent is skipped for the test client. Test-only routes:
//   POST /test/rotate  a new RS256 key (new kid) signs from now on; the old
//                      keys stay published
//   POST /test/redirect-uri?uri=URI  the test client also takes URI (and
//                      its origin after sign-out)
//   GET  /test/stats   {"jwks_requests": n}
import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const nodeModules = process.env.OIDC_NODE_MODULES;
const stateDir = process.env.OIDC_STATE_DIR;
if (!nodeModules || !stateDir) {
  console.error('OIDC_NODE_MODULES and OIDC_STATE_DIR are required');
  process.exit(2);
}
const require = createRequire(join(nodeModules, 'noop.js'));
const { default: Provider } = await import(pathToFileURL(require.resolve('oidc-provider')));

export const CLIENT_ID = 'termaudit-web';

// The test users: what each one's ID token says.
const USERS = {
  alice: { name: 'Alice Martin', groups: ['sre-oncall'] },
  bob: { name: 'Bob Stone', groups: 'dba' },
  carol: { name: 'Carol Reyes', projects: { demo: ['terminal.view_history'] } },
  dave: { name: 'Dave Null', groups: ['nobody'] },
};

// Keys come from the openssl command: Node 20's generateKeyPairSync can
// deadlock when a garbage collection runs while the new key is exported.
const OPENSSL_ARGS = {
  RS256: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  ES256: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  EdDSA: ['-algorithm', 'ed25519'],
};

function key(alg) {
  const kid = `${alg.toLowerCase()}-${randomUUID()}`;
  const pem = execFileSync('openssl', ['genpkey', ...OPENSSL_ARGS[alg]], { encoding: 'utf8' });
  const privateKey = createPrivateKey(pem);
  return {
    kid,
    alg,
    jwk: { ...privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' },
    pem: privateKey.export({ format: 'pem', type: 'pkcs8' }),
  };
}

let redirectUris = (process.env.OIDC_REDIRECT_URIS || 'http://127.0.0.1/callback')
  .split(',').filter(Boolean);

// The first RS256 key signs ID tokens (the client's default alg).
let keys = [key('RS256'), key('ES256'), key('EdDSA')];
let jwksRequests = 0;

function saveKeys() {
  const file = keys.map(({ kid, alg, pem }) => ({ kid, alg, pem }));
  writeFileSync(join(stateDir, 'keys.json'), JSON.stringify(file, null, 2));
}

function provider(issuer) {
  const ttl = Number(process.env.OIDC_ID_TOKEN_TTL || 3600);
  const origins = [...new Set(redirectUris.map((uri) => new URL(uri).origin))];
  const p = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      token_endpoint_auth_method: 'none',
      redirect_uris: redirectUris,
      post_logout_redirect_uris: origins.flatMap((o) => [o, `${o}/`]),
      grant_types: ['authorization_code'],
      response_types: ['code'],
    }],
    jwks: { keys: keys.map((k) => k.jwk) },
    claims: {
      openid: ['sub'],
      profile: ['name'],
      groups: ['groups'],
      termaudit: ['projects'],
    },
    // Scope claims in the ID token itself: the web app sends the ID token.
    conformIdTokenClaims: false,
    ttl: { IdToken: ttl, AccessToken: ttl, Session: 86400, Grant: 86400, Interaction: 3600 },
    async findAccount(ctx, id) {
      const user = USERS[id] || { name: id };
      return {
        accountId: id,
        async claims() {
          return { sub: id, ...user };
        },
      };
    },
    // Consent is implied for the test client.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) {
        return ctx.oidc.provider.Grant.find(grantId);
      }
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid profile groups termaudit');
      await grant.save();
      return grant;
    },
    clientBasedCORS(ctx, origin, client) {
      return client.redirectUris.some((uri) => new URL(uri).origin === origin);
    },
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    pkce: { required: () => true },
  });
  p.proxy = false;
  return p;
}

let current;
const server = createServer((req, res) => {
  if (req.url === '/test/rotate' && req.method === 'POST') {
    const fresh = key('RS256');
    keys = [fresh, ...keys];
    saveKeys();
    current = provider(issuerUrl).callback();
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ kid: fresh.kid }));
    return;
  }
  if (req.url.startsWith('/test/redirect-uri?') && req.method === 'POST') {
    const uri = new URL(req.url, issuerUrl).searchParams.get('uri');
    redirectUris = [...redirectUris, uri];
    current = provider(issuerUrl).callback();
    res.end();
    return;
  }
  if (req.url === '/test/stats') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ jwks_requests: jwksRequests }));
    return;
  }
  if (req.url.startsWith('/jwks')) {
    jwksRequests += 1;
  }
  current(req, res);
});

let issuerUrl;
server.listen(Number(process.env.OIDC_PORT || 0), '127.0.0.1', () => {
  issuerUrl = `http://127.0.0.1:${server.address().port}`;
  saveKeys();
  current = provider(issuerUrl).callback();
  process.stdout.write(`${JSON.stringify({ issuer: issuerUrl })}\n`);
});

// The harness closes stdin when it is done (or dies): stop then.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
