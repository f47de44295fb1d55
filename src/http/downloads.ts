import type { Logger } from "pino";
import { collectDownload } from "../app/admin/downloads.js";
import type { EngineDeps } from "../app/kernel/unit-of-work.js";
import { type HttpServer, requestIdFor, sendText } from "./server.js";

export const DOWNLOADS_PATH = "/downloads/";

/**
 * `GET /downloads/<token>`: a file kept for one person (an audit export on Teams), handed out
 * once. A link already used, past its end or never made is answered 410 Gone, the same for all
 * three so that nothing can be learned by guessing. HEAD (a link checker) takes nothing.
 */
export function mountDownloads(http: HttpServer, deps: Pick<EngineDeps, "db" | "clock">, log: Logger): void {
  http.route("GET", `${DOWNLOADS_PATH}*`, async (req, res) => {
    if (req.method === "HEAD") {
      res.writeHead(200, { "cache-control": "no-store" });
      return res.end();
    }
    const token = new URL(req.url ?? "/", "http://local").pathname.slice(DOWNLOADS_PATH.length);
    const file = await collectDownload(deps, token);
    if (!file)
      return sendText(res, 410, "This download link has been used already or has expired. Ask pim-bot for a new one.");
    log.info(
      {
        requestId: requestIdFor(req),
        principalId: file.principalId,
        filename: file.filename,
        bytes: file.content.length,
      },
      "a kept file was downloaded",
    );
    res.writeHead(200, {
      "content-type": file.contentType,
      "content-length": String(file.content.length),
      "content-disposition": `attachment; filename="${file.filename.replace(/[^\w.-]/g, "_")}"`,
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
      "x-content-type-options": "nosniff",
    });
    res.end(file.content);
  });
}

/** The link to a kept file, under the bot's public address. */
export function downloadUrl(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, "")}${DOWNLOADS_PATH}${token}`;
}
