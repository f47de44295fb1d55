/**
 * A local stand-in for Bot Framework's token service: an OpenID metadata document and a JWKS
 * endpoint, and RS256 tokens signed with its key, the way the Bot Connector signs the tokens it
 * sends with every activity. Pointed at by the adapter's ToBotFromChannelOpenIdMetadataUrl.
 */
import { createSign, generateKeyPairSync, type KeyObject } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export const CHANNEL_ISSUER = "https://api.botframework.com";

const b64url = (data: Buffer | string) => Buffer.from(data).toString("base64url");

export class TokenIssuer {
  private readonly key = generateKeyPairSync("rsa", { modulusLength: 2048 });
  private server: Server | undefined;
  readonly kid = "pim-test-key";
  metadataUrl = "";
  /** How often the bot fetched the key set (it caches it). */
  keyFetches = 0;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const base = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
      res.setHeader("content-type", "application/json");
      if (req.url === "/.well-known/openidconfiguration")
        return res.end(
          JSON.stringify({
            issuer: CHANNEL_ISSUER,
            jwks_uri: `${base}/keys`,
            id_token_signing_alg_values_supported: ["RS256"],
          }),
        );
      if (req.url === "/keys") {
        this.keyFetches++;
        const jwk = this.key.publicKey.export({ format: "jwk" });
        return res.end(JSON.stringify({ keys: [{ ...jwk, kid: this.kid, use: "sig", endorsements: ["msteams"] }] }));
      }
      res.statusCode = 404;
      res.end("{}");
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", () => resolve()));
    this.metadataUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/.well-known/openidconfiguration`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve());
      this.server?.closeAllConnections();
    });
  }

  /** A token as the channel would send it; `claims` override the defaults, `signWith` forges the signature. */
  token(claims: Record<string, unknown>, signWith: KeyObject = this.key.privateKey): string {
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid: this.kid }));
    const payload = b64url(
      JSON.stringify({ iss: CHANNEL_ISSUER, iat: now, nbf: now - 60, exp: now + 3600, ...claims }),
    );
    const signature = createSign("RSA-SHA256").update(`${header}.${payload}`).sign(signWith);
    return `${header}.${payload}.${b64url(signature)}`;
  }
}

export const otherKey = () => generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
