import { fileURLToPath } from "node:url";
import { compose, StartupError } from "./compose.js";

export { StartupError };

export interface Running {
  port: number;
  stop(): Promise<void>;
}

/** Builds the bot from the environment and starts it. The only place that reads process.env. */
export async function start(source: Record<string, string | undefined>): Promise<Running> {
  const bot = await compose(source);
  const port = await bot.start();
  return { port, stop: () => bot.stop() };
}

const isEntryPoint = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isEntryPoint) {
  start(process.env).then(
    (running) => {
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
