import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import Provider from "oidc-provider";
import type { OidcSettings } from "../../src/mfa/oidc.js";

export interface TestIdp {
  issuer: string;
  settings: OidcSettings;
  /** What the next sign-in reports: `amr` values and `acr`. Tests change it between runs. */
  signIn: { amr: string[]; acr?: string };
  /** Every Referer header the IdP received. */
  referers: string[];
  /** Claims of particular accounts instead of the default (email = the login, verified). */
  accounts: Map<string, { email?: string; email_verified?: boolean }>;
  stop(): Promise<void>;
}

/**
 * A real OpenID Provider (the `oidc-provider` package) on loopback, with a one-field login page
 * of its own instead of the package's development screens. Whoever types an email is signed in
 * as that account; `signIn` decides whether the sign-in counts as MFA.
 */
export async function startIdp(redirectUri: string, acrValues: string[] = []): Promise<TestIdp> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const issuer = `http://127.0.0.1:${port}`;
  const clientSecret = randomBytes(24).toString("base64url");
  const signingKey = {
    ...generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" }),
    alg: "ES256",
    use: "sig",
  };
  const signIn: TestIdp["signIn"] = { amr: ["pwd", "mfa"] };
  const referers: string[] = [];
  const accounts: TestIdp["accounts"] = new Map();

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: "pim-bot",
        client_secret: clientSecret,
        redirect_uris: [redirectUri],
        grant_types: ["authorization_code"],
        response_types: ["code"],
        id_token_signed_response_alg: "ES256",
      },
    ],
    // Like most IdPs, the ID token always says how the person signed in (amr, acr).
    claims: { openid: ["sub", "acr", "amr", "auth_time"], email: ["email", "email_verified"] },
    jwks: { keys: [signingKey] },
    adapter: MemoryAdapter,
    acrValues: acrValues.length > 0 ? acrValues : undefined,
    cookies: { keys: [randomBytes(16).toString("hex")] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: async () => ({ sub, email: sub, email_verified: true, ...accounts.get(sub) }),
    }),
  });
  const handle = provider.callback();

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.referer) referers.push(req.headers.referer);
    const path = new URL(req.url ?? "/", issuer).pathname;
    const login = /^\/interaction\/([^/]+)(\/login)?$/.exec(path);
    if (!login) return void handle(req, res);
    const step = login[2] ? finishLogin(provider, signIn, req, res) : showLogin(provider, req, res);
    step.catch((error: unknown) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(error));
    });
  });

  return {
    issuer,
    settings: { issuer, clientId: "pim-bot", clientSecret, acrValues },
    signIn,
    referers,
    accounts,
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function showLogin(provider: Provider, req: IncomingMessage, res: ServerResponse) {
  const { uid } = await provider.interactionDetails(req, res);
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  res.end(`<!doctype html><title>Test IdP</title><h1>Test IdP sign-in</h1>
<form method="post" action="/interaction/${uid}/login">
<label>Email <input id="login" name="login" autocomplete="username"></label>
<button type="submit">Sign in</button></form>`);
}

async function finishLogin(provider: Provider, signIn: TestIdp["signIn"], req: IncomingMessage, res: ServerResponse) {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const accountId = new URLSearchParams(Buffer.concat(chunks).toString()).get("login") ?? "";
  const details = await provider.interactionDetails(req, res);
  const grant = new provider.Grant({ accountId, clientId: details.params.client_id as string });
  grant.addOIDCScope("openid email");
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId, amr: signIn.amr, ...(signIn.acr ? { acr: signIn.acr } : {}) }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

/** oidc-provider's storage, kept in a Map per test IdP (its built-in one warns on every start). */
class MemoryAdapter {
  private static readonly store = new Map<string, { payload: Record<string, unknown>; expiresAt: number }>();
  constructor(private readonly model: string) {}
  private key(id: string) {
    return `${this.model}:${id}`;
  }
  async upsert(id: string, payload: Record<string, unknown>, expiresIn: number) {
    MemoryAdapter.store.set(this.key(id), { payload, expiresAt: Date.now() + expiresIn * 1000 });
  }
  async find(id: string) {
    const hit = MemoryAdapter.store.get(this.key(id));
    return hit && hit.expiresAt > Date.now() ? hit.payload : undefined;
  }
  async findByUserCode(): Promise<undefined> {
    return undefined;
  }
  async findByUid(uid: string) {
    for (const [key, hit] of MemoryAdapter.store)
      if (key.startsWith(`${this.model}:`) && hit.payload.uid === uid) return hit.payload;
    return undefined;
  }
  async consume(id: string) {
    const hit = MemoryAdapter.store.get(this.key(id));
    if (hit) hit.payload.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id: string) {
    MemoryAdapter.store.delete(this.key(id));
  }
  async revokeByGrantId(grantId: string) {
    for (const [key, hit] of MemoryAdapter.store) if (hit.payload.grantId === grantId) MemoryAdapter.store.delete(key);
  }
}
