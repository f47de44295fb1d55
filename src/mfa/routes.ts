import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Logger } from "pino";
import type { HttpServer } from "../http/server.js";
import { PATHS } from "../paths.js";
import { backFromIdp, FORM_STEPS, goToIdp, postStep, showStepUp } from "./pages.js";
import type { MfaParts } from "./parts.js";
import { sendAsset, sendOutcome } from "./respond.js";
import { message } from "./step-up.js";

interface Asset {
  type: string;
  body: Buffer;
}

/** Our own files, and the WebAuthn helper served from node_modules: no third-party hosts. */
function loadAssets(): Map<string, Asset> {
  const own = (name: string) => readFileSync(join(PATHS.mfaAssets, name));
  const browserEntry = createRequire(import.meta.url).resolve("@simplewebauthn/browser");
  const webauthn = readFileSync(join(dirname(dirname(browserEntry)), "dist", "bundle", "index.umd.min.js"));
  return new Map([
    ["mfa.css", { type: "text/css; charset=utf-8", body: own("mfa.css") }],
    ["passkey.js", { type: "text/javascript; charset=utf-8", body: own("passkey.js") }],
    ["webauthn.js", { type: "text/javascript; charset=utf-8", body: webauthn }],
  ]);
}

const NOT_FOUND = message(404, "error", "Page not found", "Open the link from chat again.");

/**
 * Mounts the MFA pages on the shared server:
 *   GET  /mfa/<token>               the step-up page
 *   POST /mfa/<token>/totp          a code from the authenticator app
 *   POST /mfa/<token>/totp/enroll   the first code from a new authenticator app
 *   POST /mfa/<token>/passkey       a passkey registration or assertion
 *   GET  /mfa/<token>/oidc          start the IdP step-up
 *   GET  /mfa/oidc/callback         the IdP's way back
 *   GET  /mfa/assets/<file>         stylesheet and scripts
 */
export function mountMfaRoutes(http: HttpServer, parts: MfaParts, log: Logger): void {
  const assets = loadAssets();
  const guard =
    (handler: (req: IncomingMessage, res: ServerResponse, rest: string[]) => Promise<void>) =>
    async (req: IncomingMessage, res: ServerResponse) => {
      const path = new URL(req.url ?? "/", "http://local").pathname;
      const rest = path.split("/").slice(2);
      try {
        await handler(req, res, rest);
      } catch (error) {
        // Logged without the path: it holds the token.
        log.error({ err: error, route: `${req.method} /mfa/…` }, "MFA page failed");
        if (res.headersSent) return void res.end();
        sendOutcome(
          res,
          parts,
          message(500, "error", "Something went wrong", "Open the link from chat again, or ask for a new one."),
        );
      }
    };

  http.route(
    "GET",
    "/mfa/*",
    guard(async (req, res, [first = "", second, ...more]) => {
      if (first === "assets" && second && more.length === 0) {
        const asset = assets.get(second);
        return asset ? sendAsset(res, asset.type, asset.body) : sendOutcome(res, parts, NOT_FOUND);
      }
      if (first === "oidc" && second === "callback" && more.length === 0) return backFromIdp(parts, req, res);
      if (second === undefined) return showStepUp(parts, first, req, res);
      if (second === "oidc" && more.length === 0) return goToIdp(parts, first, res);
      sendOutcome(res, parts, NOT_FOUND);
    }),
  );
  http.route(
    "POST",
    "/mfa/*",
    guard(async (req, res, [token = "", ...step]) => {
      const handler = FORM_STEPS[step.join("/")];
      if (!handler) return sendOutcome(res, parts, NOT_FOUND);
      await postStep(parts, token, handler, req, res);
    }),
  );
}
