/**
 * The demo walked through in the Agents Playground's own page, as a person would: Sam asks for
 * Global Administrator, Dana approves, Sam's card turns Active, Sam ends it. Used by the e2e test
 * and to take the README's screenshot. Only the playground's page is driven; nothing of ours is.
 */
import type { Browser, Locator, Page } from "playwright-core";
import type { Demo, PlaygroundPerson } from "./playground-demo.js";

const STEP_MS = 20_000;

export const CHROMIUM = "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function openPlayground(browser: Browser, person: PlaygroundPerson): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`http://127.0.0.1:${person.port}/`, { waitUntil: "domcontentloaded" });
  // The playground may open on its "Getting Started" page; the chat with the bot is one click away.
  await page.getByText("Personal Chat", { exact: true }).first().click({ timeout: STEP_MS });
  await page.getByText("Connected.").first().waitFor({ timeout: STEP_MS });
  return page;
}

/** The newest card on the page that shows `text`. */
export function cardWith(page: Page, text: string): Locator {
  return page.locator(".ac-adaptiveCard").filter({ hasText: text }).last();
}

export async function say(page: Page, text: string): Promise<void> {
  const box = page.locator('[data-lexical-editor="true"]');
  await box.click({ timeout: STEP_MS });
  await page.keyboard.type(text);
  await page.keyboard.press("Enter");
}

export interface TourPages {
  sam: Page;
  dana: Page;
}

/** Runs one step of the tour; a failure says which step it was, with what the page showed. */
async function step<T>(page: Page, what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const shown = await page
      .locator(".ac-adaptiveCard")
      .last()
      .innerText({ timeout: 1_000 })
      .catch(() => "(no card)");
    throw new Error(`${what}: ${(error as Error).message.split("\n")[0]}\nlast card on the page:\n${shown}`);
  }
}

/** Request → approve → active, stopping with Sam's card active (the screenshot's moment). */
export async function requestAndApprove(browser: Browser, demo: Demo, justification: string): Promise<TourPages> {
  const [samPerson, danaPerson] = demo.people;
  // Both tabs open first, as in the demo: a playground shows what arrives while its page is connected.
  const sam = await openPlayground(browser, samPerson!);
  const dana = await openPlayground(browser, danaPerson!);
  await sam.bringToFront();
  await step(sam, "Sam types elevate", () => say(sam, "elevate"));
  await step(sam, "Sam fills in the request form", async () => {
    const form = cardWith(sam, "Request access");
    await form.locator('input[aria-label="Global Administrator"]').check({ timeout: STEP_MS });
    await form.locator("textarea").first().fill(justification);
    await form.getByRole("button", { name: "Request", exact: true }).click();
  });
  await step(sam, "Sam's card waits for approval", () =>
    cardWith(sam, "Waiting for approval").waitFor({ timeout: STEP_MS }),
  );

  await dana.bringToFront();
  await step(dana, "Dana approves", async () => {
    await cardWith(dana, "Approval needed")
      .getByRole("button", { name: "Approve", exact: true })
      .click({ timeout: STEP_MS });
    await cardWith(dana, "Approved by Dana Park").waitFor({ timeout: STEP_MS });
  });

  await sam.bringToFront();
  await step(sam, "Sam's card turns active", () => cardWith(sam, "Active until").waitFor({ timeout: STEP_MS }));
  return { sam, dana };
}

/** Sam ends the role from the card; resolves once the card says it ended. */
export async function endNow(sam: Page): Promise<void> {
  await step(sam, "Sam ends the role", async () => {
    await cardWith(sam, "Active until")
      .getByRole("button", { name: "End now", exact: true })
      .click({ timeout: STEP_MS });
    await cardWith(sam, "ended early").waitFor({ timeout: STEP_MS });
  });
}

/** Walks through the demo and saves Sam's view with the role active. */
export async function screenshotTour(demo: Demo, file: string): Promise<void> {
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const { sam } = await requestAndApprove(browser, demo, "Rotate the tenant signing keys after the audit");
    await sam.locator(".ac-adaptiveCard").last().scrollIntoViewIfNeeded();
    await sam.screenshot({ path: file });
    console.log(`saved ${file}`);
  } finally {
    await browser.close();
  }
}
