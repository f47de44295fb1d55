/**
 * Reads an Adaptive Card the way a person sees it: the words of every text, fact and label in
 * order, markdown escapes undone, and the buttons with what they would send. Tests assert on the
 * same words the Slack driver reads from Block Kit.
 */
type Json = Record<string, unknown>;

export interface CardButton {
  label: string;
  type: string;
  verb: string | undefined;
  data: Json;
  url: string | undefined;
}

export interface CardInput {
  id: string;
  type: string;
  label: string;
  value: string | undefined;
  choices: { title: string; value: string }[];
}

export interface ReadCard {
  text: string;
  buttons: CardButton[];
  inputs: CardInput[];
  /** Lines drawn in the attention colour: errors and refusals. */
  alerts: string[];
  /** Every coloured line: what just happened, good or bad. */
  notices: string[];
}

export const unescapeMarkdown = (text: string) => text.replace(/\\([\\`*_~[\]()#>!<{}|.+-])/g, "$1");

export function readCard(card: Json): ReadCard {
  const lines: string[] = [];
  const alerts: string[] = [];
  const notices: string[] = [];
  const buttons: CardButton[] = [];
  const inputs: CardInput[] = [];
  const visit = (element: Json) => {
    switch (element.type) {
      case "TextBlock":
        lines.push(unescapeMarkdown(String(element.text ?? "")));
        if (element.color === "attention") alerts.push(lines.at(-1)!);
        break;
      case "RichTextBlock": {
        const runs = (element.inlines as Json[]) ?? [];
        const line = runs.map((r) => String(r.text ?? "").replace(/\u200b/g, "")).join("");
        lines.push(line);
        if (runs.some((r) => r.color === "attention")) alerts.push(line);
        if (runs.some((r) => r.color && r.color !== "default")) notices.push(line);
        break;
      }
      case "FactSet":
        for (const f of (element.facts as Json[]) ?? [])
          lines.push(`${unescapeMarkdown(String(f.title))}: ${unescapeMarkdown(String(f.value))}`);
        break;
      case "Container":
        for (const item of (element.items as Json[]) ?? []) visit(item);
        break;
      case "ColumnSet":
        for (const column of (element.columns as Json[]) ?? [])
          for (const item of (column.items as Json[]) ?? []) visit(item);
        break;
      case "ActionSet":
        for (const a of (element.actions as Json[]) ?? []) buttons.push(buttonOf(a));
        break;
      default:
        if (String(element.type).startsWith("Input.")) {
          inputs.push({
            id: String(element.id),
            type: String(element.type),
            label: String(element.label ?? ""),
            value: element.value as string | undefined,
            choices: ((element.choices as Json[]) ?? []).map((c) => ({
              title: String(c.title),
              value: String(c.value),
            })),
          });
          lines.push(String(element.label ?? ""));
        }
    }
  };
  for (const element of (card.body as Json[]) ?? []) visit(element);
  for (const a of (card.actions as Json[]) ?? []) buttons.push(buttonOf(a));
  return { text: lines.join("\n"), buttons, inputs, alerts, notices };
}

function buttonOf(a: Json): CardButton {
  return {
    label: String(a.title ?? ""),
    type: String(a.type),
    verb: a.verb as string | undefined,
    data: (a.data as Json | undefined) ?? {},
    url: a.url as string | undefined,
  };
}

/** The Adaptive Card an activity carries, if any. */
export function cardOf(activity: Json): Json | undefined {
  const attachment = ((activity.attachments as Json[] | undefined) ?? []).find(
    (a) => a.contentType === "application/vnd.microsoft.card.adaptive",
  );
  return attachment?.content as Json | undefined;
}

/** The errors a redrawn form shows, keyed by the input each one stands under. */
export function fieldErrors(card: Json): Record<string, string> {
  const errors: Record<string, string> = {};
  let input: string | null = null;
  for (const element of (card.body as Json[]) ?? []) {
    if (String(element.type).startsWith("Input.")) input = String(element.id);
    else if (element.type === "RichTextBlock" && input) {
      const runs = (element.inlines as Json[]) ?? [];
      if (runs.some((r) => r.color === "attention")) errors[input] ??= runs.map((r) => String(r.text)).join("");
    }
  }
  return errors;
}
