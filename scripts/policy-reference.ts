/**
 * Writes docs/policy-reference.md from the zod schema of pim.yaml (src/config/pim-file-schema.ts),
 * so the reference cannot drift from what the loader accepts: a test renders it again and
 * compares. Run: npx tsx scripts/policy-reference.ts
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { pimFileSchema } from "../src/config/pim-file-schema.js";

type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  minItems?: number;
};

export const REFERENCE_PATH = fileURLToPath(new URL("../docs/policy-reference.md", import.meta.url));

const SECTIONS: Record<string, string> = {
  version: "The file format's version.",
  users: "People. `key` is how the rest of the file names them.",
  groups:
    "Groups of users and groups (nested), with owners. A group with `privileged: true` is managed by PIM for Groups: its membership and ownership are activated just in time, under `policy` and `ownerPolicy` (overrides of `defaults`), and membership is granted on a target through `connector`.",
  scopes: "Where roles apply, as paths; `/` always exists.",
  defaults: "The policy every role starts from; a role overrides only what it names.",
  roles: "Privileged roles, the connector that grants each, and each role's policy override.",
  assignments:
    "Who is eligible or active for which role at which scope (permanent without `end`); with `group` instead of `role`, for membership (or, with `access: owner`, ownership) of a privileged group.",
  breakGlass: "Emergency accounts (user keys): exempt from eligibility, MFA and approval; every use is an alert.",
  channels: "Where alerts and channel-routed approvals are posted.",
  alerts: "Thresholds of the security alerts.",
  reviews: "Access reviews run on a schedule.",
  administration: "Who administers pim-bot besides `admin: true` users, and who may read the audit log.",
};

export function renderPolicyReference(): string {
  const schema = z.toJSONSchema(pimFileSchema, { io: "input", unrepresentable: "any" }) as Schema;
  const out: string[] = [
    "# Policy file reference (`pim.yaml`)",
    "",
    "Generated from the zod schema in `src/config/pim-file-schema.ts` by `npx tsx scripts/policy-reference.ts`;",
    "a test fails when this file and the schema differ. Durations are written like `30m`, `8h`, `1h30m` or `90d`;",
    "times in ISO 8601 with a zone (`2026-01-01T00:00:00Z`). References between sections (a role's approvers,",
    "an assignment's principal, …) are checked when the file is loaded, and every error names its line.",
    "[`pim.example.yaml`](../pim.example.yaml) shows a complete file.",
    "",
  ];
  for (const [name, section] of Object.entries(schema.properties ?? {})) {
    out.push(`## \`${name}\``, "", SECTIONS[name] ?? "", "");
    const rows: string[][] = [];
    // Every section but `version` may be left out or left empty (see `section` in the schema).
    walk(section, name, name === "version", rows);
    out.push("| setting | type | required | default | rule |", "| --- | --- | --- | --- | --- |");
    for (const r of rows) out.push(`| ${r.map(escapeCell).join(" | ")} |`);
    out.push("");
  }
  return `${out.join("\n").trimEnd()}\n`;
}

function walk(s: Schema, path: string, required: boolean, rows: string[][]): void {
  const variants = s.anyOf ?? s.oneOf;
  if (variants && !variants.every((v) => v.type === "null" || v.const !== undefined)) {
    const real = variants.filter((v) => v.type !== "null");
    if (real.length === 1) {
      walk({ ...real[0]!, default: s.default ?? real[0]!.default }, path, required, rows);
      return;
    }
    rows.push([`\`${path}\``, "one of the forms below", required ? "yes" : "no", fmt(s.default), ""]);
    real.forEach((v, i) => {
      walk(v, `${path} (form ${i + 1})`, true, rows);
    });
    return;
  }
  const type = typeOf(s);
  rows.push([`\`${path}\``, type, required ? "yes" : "no", fmt(s.default), ruleOf(s)]);
  if (s.properties)
    for (const [key, child] of Object.entries(s.properties))
      walk(child, `${path}.${key}`, (s.required ?? []).includes(key), rows);
  if (s.items?.properties)
    for (const [key, child] of Object.entries(s.items.properties))
      walk(child, `${path}[].${key}`, (s.items.required ?? []).includes(key), rows);
}

function typeOf(s: Schema): string {
  const variants = s.anyOf ?? s.oneOf;
  if (variants) return variants.map(typeOf).join(" or ");
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.enum) return s.enum.map((e) => `\`${e}\``).join(", ");
  if (s.type === "array") return `list of ${s.items ? typeOf(s.items) : "values"}`;
  if (s.type === "object") return s.properties ? "map" : "map";
  if (Array.isArray(s.type)) return s.type.join(" or ");
  return s.type ?? "any";
}

function ruleOf(s: Schema): string {
  const parts: string[] = [];
  if (s.pattern) parts.push(`matches \`${s.pattern}\``);
  if (s.format) parts.push(s.format);
  if (s.minimum !== undefined) parts.push(`≥ ${s.minimum}`);
  if (s.exclusiveMinimum !== undefined) parts.push(`> ${s.exclusiveMinimum}`);
  if (s.maximum !== undefined) parts.push(`≤ ${s.maximum}`);
  if (s.minLength) parts.push("not empty");
  if (s.minItems) parts.push(`at least ${s.minItems}`);
  if (s.type === "array" && s.items?.pattern) parts.push(`each matches \`${s.items.pattern}\``);
  return parts.join("; ");
}

function fmt(value: unknown): string {
  return value === undefined ? "" : `\`${JSON.stringify(value)}\``;
}

function escapeCell(cell: string): string {
  return cell.replaceAll("|", "\\|").replaceAll("\n", " ");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(REFERENCE_PATH, renderPolicyReference());
  console.log(`wrote ${REFERENCE_PATH}`);
}
