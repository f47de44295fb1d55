/**
 * Checks a card with Microsoft's own Adaptive Cards parser (the `adaptivecards` package Teams'
 * web renderers are built on): unknown elements, bad property values, duplicate input ids and
 * anything newer than the declared version are problems. Not a hand-written list of rules.
 */
import { createRequire } from "node:module";
import { CARD_VERSION, MAX_CARD_BYTES } from "../../../src/chat/teams/cards.js";

// The package's ES build imports extensionless paths Node refuses; its UMD build loads as CommonJS.
const AC = createRequire(import.meta.url)("adaptivecards/dist/adaptivecards.js") as typeof import("adaptivecards");

type Json = Record<string, unknown>;

const VERSIONS: Record<string, import("adaptivecards").Version> = {
  "1.4": AC.Versions.v1_4,
  "1.5": AC.Versions.v1_5,
};

export function adaptiveCardProblems(card: Json): string[] {
  const problems: string[] = [];
  if (card.type !== "AdaptiveCard") problems.push(`type is ${String(card.type)}, not AdaptiveCard`);
  if (card.version !== CARD_VERSION) problems.push(`version is ${String(card.version)}, not ${CARD_VERSION}`);
  const bytes = Buffer.byteLength(JSON.stringify(card), "utf8");
  if (bytes > MAX_CARD_BYTES) problems.push(`card is ${bytes} bytes, over ${MAX_CARD_BYTES}`);
  const target = VERSIONS[CARD_VERSION];
  if (!target) return [...problems, `no parser version for ${CARD_VERSION}`];
  const context = new AC.SerializationContext(target);
  const parsed = new AC.AdaptiveCard();
  parsed.parse(card, context);
  for (let i = 0; i < context.eventCount; i++) {
    const e = context.getEventAt(i);
    problems.push(`${AC.ValidationEvent[e.event]}: ${e.message}`);
  }
  for (const e of parsed.validateProperties().validationEvents)
    problems.push(`${AC.ValidationEvent[e.event]}: ${e.message}`);
  // What the parser keeps is what a client understands; anything it dropped was not Adaptive Cards.
  const lost = lostKeys(card, parsed.toJSON(context) as Json);
  for (const path of lost) problems.push(`not part of Adaptive Cards ${CARD_VERSION}: ${path}`);
  return problems;
}

/** Keys of the original that the parser's own serialization does not have (unknown properties). */
function lostKeys(original: unknown, reparsed: unknown, path = "$"): string[] {
  if (Array.isArray(original)) {
    const again = Array.isArray(reparsed) ? reparsed : [];
    return original.flatMap((v, i) => lostKeys(v, again[i], `${path}[${i}]`));
  }
  if (!original || typeof original !== "object") return [];
  const again = (reparsed && typeof reparsed === "object" ? reparsed : {}) as Json;
  const out: string[] = [];
  for (const [key, value] of Object.entries(original as Json)) {
    if (key === "$schema" || key === "data") continue;
    if (!(key in again)) {
      if (!isDefault(key, value)) out.push(`${path}.${key}`);
      continue;
    }
    out.push(...lostKeys(value, again[key], `${path}.${key}`));
  }
  return out;
}

/** The serializer leaves out values equal to their defaults; those were understood, not dropped. */
function isDefault(key: string, value: unknown): boolean {
  if (Array.isArray(value) && value.length === 0) return true;
  const defaults: Record<string, unknown[]> = {
    wrap: [false],
    isMultiSelect: [false],
    isMultiline: [false],
    isRequired: [false],
    isSubtle: [false],
    separator: [false],
    spacing: ["default"],
    style: ["default", "compact"],
    weight: ["default"],
    size: ["default"],
    color: ["default"],
    bleed: [false],
  };
  return defaults[key]?.includes(value) ?? false;
}
