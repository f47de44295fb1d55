import type { Card } from "./card.js";

/** A file waiting behind a link: what it is, the button to fetch it, and how long the link lasts. */
export function downloadCard(
  file: { title: string; filename: string; note: string },
  link: { url: string; expiresAt: Date },
): Card {
  return {
    header: file.title,
    tone: "info",
    summary: file.note,
    blocks: [
      { type: "text", text: [file.note] },
      {
        type: "buttons",
        buttons: [{ kind: "link", url: link.url, label: `Download ${file.filename}`, style: "primary" }],
      },
      {
        type: "context",
        lines: [
          ["The link is yours alone and works once, until ", { time: link.expiresAt }, "; after that, ask again."],
        ],
      },
    ],
  };
}
