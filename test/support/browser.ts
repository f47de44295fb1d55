import { closeSync, existsSync, openSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { describe } from "vitest";

/** Debian's Chromium; the tests never download a browser. */
export const CHROMIUM = "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM);

if (!hasChromium && sayOnce("chromium")) {
  console.log(`[skip] browser tests: ${CHROMIUM} is not installed (apt-get install -y chromium)`);
}

/** Each test file runs in its own process; a marker named after the runner says it once per run. */
function sayOnce(what: string): boolean {
  try {
    closeSync(openSync(join(tmpdir(), `pim-bot-skip-${what}-${process.ppid}`), "wx"));
    return true;
  } catch {
    return false;
  }
}

export const describeWithBrowser = describe.skipIf(!hasChromium);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
