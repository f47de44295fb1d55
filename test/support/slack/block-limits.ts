/**
 * Checks Block Kit payloads against Slack's documented limits (docs.slack.dev, "Block Kit"
 * reference: blocks, block elements, composition objects, views). Written from the documentation,
 * independently of the renderer, so a renderer bug is caught rather than mirrored. Returns one
 * line per violation, as a JSON pointer and what is wrong, like Slack's `invalid_blocks` errors.
 */

type Json = Record<string, unknown>;
export type Surface = "message" | "modal" | "home";

const MAX_BLOCKS: Record<Surface, number> = { message: 50, modal: 100, home: 100 };

export function checkMessage(payload: { text?: unknown; blocks?: unknown }): string[] {
  const problems: string[] = [];
  if (payload.text !== undefined && typeof payload.text === "string" && payload.text.length > 40_000)
    problems.push("/text: must be at most 40000 characters");
  if (payload.blocks === undefined) {
    if (!payload.text) problems.push("/text: a message needs text or blocks");
    return problems;
  }
  checkBlocks(payload.blocks, "message", "/blocks", problems);
  return problems;
}

export function checkView(view: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(view)) return ["/view: must be an object"];
  const type = view.type;
  if (type !== "modal" && type !== "home") return [`/view/type: must be modal or home, not ${String(type)}`];
  if (type === "modal") {
    plainText(view.title, "/view/title", 24, problems, true);
    if (view.submit !== undefined) plainText(view.submit, "/view/submit", 24, problems, true);
    if (view.close !== undefined) plainText(view.close, "/view/close", 24, problems, true);
    const hasInput = Array.isArray(view.blocks) && view.blocks.some((b) => isObject(b) && b.type === "input");
    if (hasInput && view.submit === undefined) problems.push("/view/submit: required when the view has input blocks");
  }
  maxLength(view.private_metadata, "/view/private_metadata", 3000, problems);
  maxLength(view.callback_id, "/view/callback_id", 255, problems);
  maxLength(view.external_id, "/view/external_id", 255, problems);
  checkBlocks(view.blocks, type, "/view/blocks", problems);
  return problems;
}

function checkBlocks(blocks: unknown, surface: Surface, at: string, problems: string[]): void {
  if (!Array.isArray(blocks)) {
    problems.push(`${at}: must be an array`);
    return;
  }
  if (blocks.length > MAX_BLOCKS[surface])
    problems.push(`${at}: ${blocks.length} blocks, at most ${MAX_BLOCKS[surface]} allowed in a ${surface}`);
  const blockIds = new Set<string>();
  blocks.forEach((block, i) => {
    const here = `${at}/${i}`;
    if (!isObject(block)) {
      problems.push(`${here}: must be an object`);
      return;
    }
    if (block.block_id !== undefined) {
      maxLength(block.block_id, `${here}/block_id`, 255, problems);
      if (blockIds.has(String(block.block_id))) problems.push(`${here}/block_id: duplicate block_id ${block.block_id}`);
      blockIds.add(String(block.block_id));
    }
    checkBlock(block, surface, here, problems);
  });
}

function checkBlock(block: Json, _surface: Surface, at: string, problems: string[]): void {
  switch (block.type) {
    case "header":
      plainText(block.text, `${at}/text`, 150, problems, true);
      return;
    case "section": {
      if (block.text === undefined && block.fields === undefined)
        problems.push(`${at}: a section needs text or fields`);
      if (block.text !== undefined) textObject(block.text, `${at}/text`, 3000, problems);
      if (block.fields !== undefined) {
        if (!Array.isArray(block.fields)) problems.push(`${at}/fields: must be an array`);
        else {
          if (block.fields.length > 10) problems.push(`${at}/fields: ${block.fields.length} fields, at most 10`);
          block.fields.forEach((f, i) => {
            textObject(f, `${at}/fields/${i}`, 2000, problems);
          });
        }
      }
      if (block.accessory !== undefined) element(block.accessory, `${at}/accessory`, problems);
      return;
    }
    case "context": {
      if (!Array.isArray(block.elements) || block.elements.length === 0)
        return void problems.push(`${at}/elements: must have at least one element`);
      if (block.elements.length > 10) problems.push(`${at}/elements: ${block.elements.length} elements, at most 10`);
      block.elements.forEach((e, i) => {
        if (isObject(e) && e.type === "image") return;
        textObject(e, `${at}/elements/${i}`, 3000, problems);
      });
      return;
    }
    case "actions": {
      if (!Array.isArray(block.elements) || block.elements.length === 0)
        return void problems.push(`${at}/elements: must have at least one element`);
      if (block.elements.length > 25) problems.push(`${at}/elements: ${block.elements.length} elements, at most 25`);
      const actionIds = new Set<string>();
      block.elements.forEach((e, i) => {
        element(e, `${at}/elements/${i}`, problems);
        if (isObject(e) && typeof e.action_id === "string") {
          if (actionIds.has(e.action_id))
            problems.push(`${at}/elements/${i}/action_id: duplicate action_id ${e.action_id} in one block`);
          actionIds.add(e.action_id);
        }
      });
      return;
    }
    case "divider":
      return;
    case "input": {
      // Allowed in messages: what was typed arrives in the state of the next block_actions payload.
      plainText(block.label, `${at}/label`, 2000, problems, true);
      if (block.hint !== undefined) plainText(block.hint, `${at}/hint`, 2000, problems, true);
      element(block.element, `${at}/element`, problems);
      return;
    }
    default:
      problems.push(`${at}/type: unknown block type ${String(block.type)}`);
  }
}

function element(el: unknown, at: string, problems: string[]): void {
  if (!isObject(el)) return void problems.push(`${at}: must be an object`);
  maxLength(el.action_id, `${at}/action_id`, 255, problems);
  if (el.placeholder !== undefined) plainText(el.placeholder, `${at}/placeholder`, 150, problems, true);
  switch (el.type) {
    case "button":
      plainText(el.text, `${at}/text`, 75, problems, true);
      maxLength(el.value, `${at}/value`, 2000, problems);
      maxLength(el.url, `${at}/url`, 3000, problems);
      if (el.style !== undefined && el.style !== "primary" && el.style !== "danger")
        problems.push(`${at}/style: must be primary or danger`);
      return;
    case "static_select":
    case "multi_static_select": {
      const options = el.options;
      if (!Array.isArray(options) || options.length === 0)
        return void problems.push(`${at}/options: must have at least one option`);
      if (options.length > 100) problems.push(`${at}/options: ${options.length} options, at most 100`);
      options.forEach((o, i) => {
        option(o, `${at}/options/${i}`, problems);
      });
      const values = new Set(options.map((o) => (isObject(o) ? o.value : undefined)));
      const initial = el.type === "static_select" ? [el.initial_option].filter(Boolean) : (el.initial_options ?? []);
      (initial as unknown[]).forEach((o, i) => {
        option(o, `${at}/initial/${i}`, problems);
        if (isObject(o) && !values.has(o.value)) problems.push(`${at}/initial/${i}: must be one of the options`);
      });
      return;
    }
    case "external_select":
    case "multi_external_select":
      (
        (el.type === "external_select" ? [el.initial_option].filter(Boolean) : (el.initial_options ?? [])) as unknown[]
      ).forEach((o, i) => {
        option(o, `${at}/initial/${i}`, problems);
      });
      return;
    case "plain_text_input":
      if (typeof el.max_length === "number" && (el.max_length < 1 || el.max_length > 3000))
        problems.push(`${at}/max_length: must be 1–3000`);
      maxLength(el.initial_value, `${at}/initial_value`, 3000, problems);
      return;
    default:
      problems.push(`${at}/type: element type ${String(el.type)} is not checked by this helper`);
  }
}

function option(o: unknown, at: string, problems: string[]): void {
  if (!isObject(o)) return void problems.push(`${at}: must be an object`);
  plainText(o.text, `${at}/text`, 75, problems, true);
  if (typeof o.value !== "string" || o.value.length === 0 || o.value.length > 150)
    problems.push(`${at}/value: must be 1–150 characters`);
}

function textObject(t: unknown, at: string, max: number, problems: string[]): void {
  if (!isObject(t) || (t.type !== "mrkdwn" && t.type !== "plain_text"))
    return void problems.push(`${at}: must be a plain_text or mrkdwn text object`);
  nonEmpty(t.text, at, max, problems);
}

function plainText(t: unknown, at: string, max: number, problems: string[], required: boolean): void {
  if (t === undefined && !required) return;
  if (!isObject(t) || t.type !== "plain_text") return void problems.push(`${at}: must be a plain_text object`);
  nonEmpty(t.text, at, max, problems);
}

function nonEmpty(text: unknown, at: string, max: number, problems: string[]): void {
  if (typeof text !== "string" || text.length === 0) return void problems.push(`${at}/text: must not be empty`);
  if (text.length > max) problems.push(`${at}/text: ${text.length} characters, at most ${max}`);
}

function maxLength(value: unknown, at: string, max: number, problems: string[]): void {
  if (value === undefined) return;
  if (typeof value !== "string") return void problems.push(`${at}: must be a string`);
  if (value.length > max) problems.push(`${at}: ${value.length} characters, at most ${max}`);
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
