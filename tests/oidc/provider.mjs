// A real, certified OpenID provider (oidc-provider) for handin's tests: the
// university's sign-in service. Only its login page is ours, as it is for
// every deployment of oidc-provider. Clients register themselves (RFC 7591),
// so each test gets a client with its own redirect address.
//
// Every account's password is "university-password". Claims come from the
// login name: preferred_username = login, email = login@example.ac.uk,
// name = "<Login> from the university"; the email is verified unless the
// login starts with "unverified-".
//
// One hook exists for the tests, POST /__test/tamper {"mode": ...}: the next
// ID token the token endpoint issues is re-signed with another key
// ("foreign-key"), made expired ("expired") or addressed to another client
// ("audience"). It stands for a provider that was impersonated or broken.
//
// Run: PORT=… PARENT_PID=… node provider.mjs (exits when the parent does).

import Provider from 'oidc-provider';
import * as jose from 'jose';

const port = Number(process.env.PORT);
const issuer = `http://localhost:${port}`;
const PASSWORD = 'university-password';

const signing = await jose.generateKeyPair('RS256', { extractable: true });
const foreign = await jose.generateKeyPair('RS256', { extractable: true });
const KID = 'university-1';
const jwk = { ...(await jose.exportJWK(signing.privateKey)), kid: KID, alg: 'RS256', use: 'sig' };

const nameOf = (login) => `${login.charAt(0).toUpperCase()}${login.slice(1)} from the university`;

const provider = new Provider(issuer, {
  jwks: { keys: [jwk] },
  cookies: { keys: ['handin-tests-only-cookie-key'] },
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  // The claims asked for go in the ID token, as Entra ID and Keycloak do.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({
      sub: id,
      preferred_username: id,
      name: nameOf(id),
      email: `${id}@example.ac.uk`,
      email_verified: !id.startsWith('unverified-'),
    }),
  }),
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
});

const escape = (text) =>
  String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const loginPage = (uid, error) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>University sign-in</title></head>
<body><main><h1>University of Testing: sign in</h1>
${error ? `<p id="error" role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="login">University username</label> <input id="login" name="login" autocomplete="username" required>
<label for="password">Password</label> <input id="password" name="password" type="password" required>
<button type="submit" id="sign-in">Sign in</button>
</form></main></body></html>`;

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

let tamper = null;

async function tampered(idToken, mode) {
  const payload = jose.decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  let key = signing.privateKey;
  if (mode === 'foreign-key') key = foreign.privateKey;
  if (mode === 'expired') Object.assign(payload, { iat: now - 7200, exp: now - 3600 });
  if (mode === 'audience') payload.aud = 'someone-else';
  return new jose.SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: KID }).sign(key);
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/__test/tamper' && ctx.method === 'POST') {
    tamper = JSON.parse((await readBody(ctx.req)) || '{}').mode ?? null;
    ctx.status = 204;
    return;
  }
  const interaction = ctx.path.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (interaction) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    ctx.type = 'html';
    if (!interaction[2]) {
      ctx.body = loginPage(details.uid);
      return;
    }
    const form = new URLSearchParams(await readBody(ctx.req));
    const login = (form.get('login') || '').trim();
    if (!login || form.get('password') !== PASSWORD) {
      ctx.status = 401;
      ctx.body = loginPage(details.uid, 'Wrong username or password.');
      return;
    }
    const grant = new provider.Grant({ accountId: login, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    const grantId = await grant.save();
    await provider.interactionFinished(
      ctx.req,
      ctx.res,
      { login: { accountId: login }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
    ctx.respond = false;
    return;
  }
  await next();
  if (ctx.path === '/token' && ctx.status === 200 && tamper && ctx.body?.id_token) {
    ctx.body = { ...ctx.body, id_token: await tampered(ctx.body.id_token, tamper) };
    tamper = null;
  }
});

provider.listen(port, () => console.log(`ready ${issuer}`));

const parent = Number(process.env.PARENT_PID);
if (parent) {
  setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      process.exit(0);
    }
  }, 1000).unref();
}
