import { html } from "./html.js";
import { layout } from "./layout.js";

const ICONS = { ok: "✓", error: "!", info: "i" } as const;

/** A page with one message: done, refused, expired, locked. */
export function messagePage(base: string, tone: keyof typeof ICONS, title: string, text: string): string {
  return layout({
    title,
    base,
    body: html`<section class="card message ${tone}" role="${tone === "error" ? "alert" : "status"}">
<div class="icon" aria-hidden="true">${ICONS[tone]}</div>
<h1>${title}</h1>
<p>${text}</p>
<p class="fine">You can close this page.</p>
</section>`,
  });
}
