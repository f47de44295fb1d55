import type { IncomingMessage, ServerResponse } from "node:http";
import type { CloudAdapter, TurnContext } from "botbuilder";
import { readBody, requestIdFor, sendText } from "../../http/server.js";

/** Where a turn keeps the id of the HTTP request that brought its activity. */
export const REQUEST_ID = Symbol("requestId");

/** Where a turn keeps the way to send its HTTP answer before its work is over. */
const ANSWER_NOW = Symbol("answerNow");

/**
 * Sends the HTTP answer to a turn's activity at once, while the turn goes on working (Teams waits
 * 15 seconds at most for a card action's answer). Whatever the turn answers later is dropped.
 * False when the turn did not come through this server.
 */
export function answerNow(turn: TurnContext, status: number, body: unknown): boolean {
  const answer: unknown = turn.turnState.get(ANSWER_NOW);
  if (typeof answer !== "function") return false;
  (answer as (status: number, body: unknown) => void)(status, body);
  return true;
}

/** The id of the HTTP request a turn's activity came in on; a new one for a proactive turn. */
export function requestIdOfTurn(turn: TurnContext): string {
  const id: unknown = turn.turnState.get(REQUEST_ID);
  return typeof id === "string" ? id : requestIdFor(undefined);
}

/** Bot Framework activities are small; a bigger body is refused before it is parsed. */
const MAX_ACTIVITY_BYTES = 2_000_000;

/**
 * `POST /api/messages` on the shared server. CloudAdapter.process wants an Express-like request
 * with a parsed body and a response with status/header/send/end; Node's objects are adapted here.
 */
export function activityHandler(adapter: CloudAdapter, logic: (turn: TurnContext) => Promise<void>) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse((await readBody(req, MAX_ACTIVITY_BYTES)).toString("utf8"));
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
      body = parsed as Record<string, unknown>;
    } catch (error) {
      const tooLarge = (error as { code?: string }).code === "BODY_TOO_LARGE";
      sendText(res, tooLarge ? 413 : 400, tooLarge ? "Activity too large" : "The body must be a JSON activity");
      return;
    }
    const reply = responseShim(res);
    const requestId = requestIdFor(req);
    await adapter.process({ body, headers: req.headers, method: req.method }, reply, (turn) => {
      turn.turnState.set(REQUEST_ID, requestId);
      turn.turnState.set(ANSWER_NOW, (status: number, answer: unknown) => reply.status(status).send(answer).finish());
      return logic(turn);
    });
    reply.finish();
  };
}

function responseShim(res: ServerResponse) {
  let status = 200;
  let payload: string | undefined;
  let type = "application/json; charset=utf-8";
  const shim = {
    socket: res.socket,
    status(code: number) {
      status = code;
      return shim;
    },
    header(name: string, value: unknown) {
      if (!res.headersSent) res.setHeader(name, String(value));
      return shim;
    },
    send(body: unknown) {
      if (body === undefined || body === null) return shim;
      if (typeof body === "string") {
        payload = body;
        type = "text/plain; charset=utf-8";
      } else payload = JSON.stringify(body);
      return shim;
    },
    end() {
      shim.finish();
      return shim;
    },
    finish() {
      if (res.headersSent || res.writableEnded) return;
      res.writeHead(status, payload === undefined ? {} : { "content-type": type });
      res.end(payload);
    },
  };
  return shim;
}
