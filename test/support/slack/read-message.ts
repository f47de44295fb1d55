/**
 * Reads Block Kit the way a person sees it: mentions as names, dates as their fallback text,
 * escapes undone. Tests then assert on words, the same words the Teams driver reads.
 */
type Json = Record<string, unknown>;

export interface Snapshot {
  text: string;
  buttons: { label: string; actionId: string; value: string | undefined; url: string | undefined }[];
}

export function readBlocks(blocks: Json[], nameOf: (slackId: string) => string | undefined): Snapshot {
  const lines: string[] = [];
  const buttons: Snapshot["buttons"] = [];
  const text = (t: unknown) => {
    if (t && typeof t === "object" && typeof (t as Json).text === "string")
      lines.push(humanize(String((t as Json).text), nameOf));
  };
  for (const block of blocks) {
    switch (block.type) {
      case "header":
      case "section":
        text(block.text);
        for (const f of (block.fields as Json[]) ?? []) text(f);
        break;
      case "context":
        for (const e of (block.elements as Json[]) ?? []) text(e);
        break;
      case "actions":
        for (const e of (block.elements as Json[]) ?? []) {
          const label = String((e.text as Json)?.text ?? "");
          buttons.push({
            label,
            actionId: String(e.action_id ?? ""),
            value: e.value as string | undefined,
            url: e.url as string | undefined,
          });
        }
        break;
      case "input":
        text(block.label);
        break;
    }
  }
  return { text: lines.join("\n"), buttons };
}

export function humanize(mrkdwn: string, nameOf: (slackId: string) => string | undefined): string {
  return mrkdwn
    .replace(/^>/gm, "")
    .replace(/\*([^*\n]+)\*/g, "$1")
    .replace(/`([^`\n]*)`/g, "$1")
    .replace(/<@([UW][A-Z0-9]+)>/g, (_m, id: string) => nameOf(id) ?? `@${id}`)
    .replace(/<!date\^\d+\^[^|>]*\|([^>]*)>/g, "$1")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

/** Every special token Slack would act on in mrkdwn: mentions, channel pings, links. */
export function specialTokens(mrkdwn: string): string[] {
  return [...mrkdwn.matchAll(/<[^>]*>/g)].map((m) => m[0]);
}
