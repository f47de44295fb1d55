import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import { compose, StartupError } from "./compose.js";
import { isUnownedDriverRejection } from "./db/lost-connection.js";

export { StartupError };

export interface Running {
  port: number;
  log: Logger;
  stop(): Promise<void>;
}

/** Builds the bot from the environment and starts it. The only place that reads process.env. */
export async function start(source: Record<string, string | undefined>): Promise<Running> {
  const bot = await compose(source);
  const port = await bot.start();
  return { port, log: bot.log, stop: () => bot.stop() };
}

const isEntryPoint = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isEntryPoint) {
  start(process.env).then(
    (running) => {
      // The PostgreSQL driver can reject a promise of its own, on a connection the server has
      // just closed, without handing the error to any query (see isUnownedDriverRejection): no
      // unit of work is left waiting on it, so it is logged, not fatal. Any other unhandled
      // rejection is thrown on, and ends the process as Node would.
      process.on("unhandledRejection", (reason) => {
        if (!isUnownedDriverRejection(reason)) throw reason;
        running.log.warn({ err: reason }, "the database closed a connection under the driver; it reconnects");
      });
      const shutdown = () => void running.stop().then(() => process.exit(0));
      process.once("SIGTERM", shutdown);
      process.once("SIGINT", shutdown);
    },
    (error) => {
      console.error(error instanceof StartupError ? error.message : error);
      process.exit(1);
    },
  );
}
