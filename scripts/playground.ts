/**
 * `npm run playground`: pim-bot on Teams without a tenant, in two browser tabs. See
 * scripts/playground-demo.ts for what runs; `--screenshot <file.png>` walks through the demo in
 * headless Chromium instead and saves the requester's view (docs/images/teams-playground.png).
 */
import { fileURLToPath } from "node:url";
import { startDemo } from "./playground-demo.js";

const botPort = Number(process.env.PLAYGROUND_BOT_PORT ?? 3978);
const basePort = Number(process.env.PLAYGROUND_PORT ?? 56150);

async function main(argv: string[]): Promise<void> {
  const shotAt = argv.indexOf("--screenshot");
  const demo = await startDemo({ botPort, basePort, logLevel: process.env.LOG_LEVEL });
  if (shotAt >= 0) {
    const { screenshotTour } = await import("./playground-tour.js");
    try {
      await screenshotTour(demo, argv[shotAt + 1] ?? "docs/images/teams-playground.png");
    } finally {
      await demo.stop();
    }
    return;
  }
  const shutdown = () => void demo.stop().then(() => process.exit(0));
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
  const [sam, dana] = demo.people;
  console.log(`
pim-bot is running at ${demo.botEndpoint} (Teams authentication OFF: local use only).

  ${demo.people.map((p) => `${p.name.padEnd(11)} (${p.role}) → http://localhost:${p.port}`).join("\n  ")}

Open both pages first (a playground shows what arrives while its page is open). Then in
${sam!.name}'s, type "elevate", tick Global Administrator, say why, press Request. ${dana!.name}'s shows
the approval card: press Approve. ${sam!.name}'s card turns Active; press End now.
Ctrl+C stops everything and removes the demo database (${demo.dir}).
`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
