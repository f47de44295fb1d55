import { afterEach, beforeEach, expect, it } from "vitest";
import { requestActivation } from "../../src/app/activation/request.js";
import type { RecordingPolicy } from "../../src/chat/flows/recording.js";
import { FORMS } from "../../src/chat/views/action-ids.js";
import { queryAudit } from "../../src/db/audit-log.js";
import { openDatabase } from "../../src/db/client.js";
import { HOUR } from "../../src/domain/duration.js";
import { describeOnPostgres, TEST_DATABASE_URL } from "../support/databases.js";
import type { StoredMessage } from "../support/slack/slack-api.js";
import { TcpProxy } from "../support/tcp-proxy.js";
import type { StoredActivity } from "../support/teams/connector.js";
import { cardOf, readCard } from "../support/teams/read-card.js";
import { answeredCard } from "../support/teams/teams-driver.js";
import { clearLoggedErrors, loggedErrorLines } from "../support/test-log.js";
import { type Platform, SLACK_PEOPLE, startWorld, TEAMS_PEOPLE, type World } from "../support/world.js";

type Json = Record<string, unknown>;

/**
 * The pauses a click makes between attempts, ended by the test: the retry window's clock moves
 * only when a pause ends, so neither outcome depends on how fast the machine is.
 */
class HeldPauses {
  private elapsed = 0;
  private readonly held: { ms: number; end: () => void }[] = [];
  readonly policy: Partial<RecordingPolicy>;

  constructor(answerMs: number) {
    this.policy = {
      windowMs: 8_000,
      answerMs,
      firstDelayMs: 500,
      maxDelayMs: 2_000,
      now: () => this.elapsed,
      wait: (ms) => new Promise<void>((end) => this.held.push({ ms, end })),
    };
  }

  get waiting(): boolean {
    return this.held.length > 0;
  }

  /** Ends the oldest pause, the window's clock moving on by its length. */
  end(): void {
    const pause = this.held.shift();
    if (!pause) throw new Error("no pause to end");
    this.elapsed += pause.ms;
    pause.end();
  }
}

/** Polls until `found` is defined, or fails after a deadline. */
async function until<T>(what: string, found: () => T | undefined | Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await found();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const slackIdOf = (key: string) => SLACK_PEOPLE.find((p) => p.key === key)!.id;
const teamsPerson = (key: string) => TEAMS_PEOPLE.find((p) => p.key === key)!;

/**
 * Approve clicked while the bot's database is unreachable (its connection goes through a relay
 * the test cuts), on Slack and on Teams. A click is acknowledged before it is recorded; it must
 * then be recorded once the database is back within the window, or the clicker must be told it
 * did not count, with the request id that the log line about it carries.
 */
describeOnPostgres("an Approve click during a database outage", () => {
  let w: World;
  let relay: TcpProxy;
  let pauses: HeldPauses;
  let requestId: string;
  let cut = false;

  const cutDatabase = async () => {
    await relay.down();
    cut = true;
  };
  const restoreDatabase = async () => {
    if (!cut) return;
    await relay.up();
    cut = false;
  };

  /** Alice asks for db-admin from a platform; Bob, Carol and Dave get the approval card there. */
  async function ask(platform: Platform): Promise<void> {
    const asked = await requestActivation(w.deps, {
      requesterId: await w.principalId("alice"),
      roles: [{ roleId: await w.engine.role("db-admin"), scope: "/mg/prod" }],
      durationMs: HOUR,
      justification: "Restore the orders table",
      ticket: "INC-123456",
      origin: platform,
    });
    if (!asked.ok) throw new Error(asked.error.message);
    requestId = asked.value.requestId;
    await w.settle();
  }

  beforeEach(async (test) => {
    const server = new URL(TEST_DATABASE_URL);
    relay = await new TcpProxy(server.hostname, Number(server.port || 5432)).up();
    // Teams waits for its answer as long as the window lasts, except where a test says it outlasts it.
    pauses = new HeldPauses(test.task.name.includes("outlasts") ? 2_000 : 8_000);
    w = await startWorld("postgres", {
      overrides: { recording: pauses.policy },
      database: async (test) => {
        const url = new URL(test.url!);
        url.hostname = "127.0.0.1";
        url.port = String(relay.port);
        return openDatabase({ driver: "postgres", url: url.toString(), poolSize: 4 });
      },
    });
  });

  afterEach(async () => {
    await restoreDatabase();
    await w.dispose();
    await relay.down();
  });

  /** Bob's approval card on a platform, as it is now. */
  async function bobsCard(platform: Platform): Promise<StoredMessage | StoredActivity> {
    const card = await w.message(platform, "bob", "approver", requestId);
    if (!card) throw new Error(`bob has no approval card on ${platform}`);
    return card;
  }

  /** Bob clicks Approve on his card; the answer comes when the platform gets one. */
  async function approve(platform: Platform) {
    const card = await bobsCard(platform);
    if (platform === "slack") return w.slack!.clickInMessage(slackIdOf("bob"), card as StoredMessage, "pim.approve");
    const m = card as StoredActivity;
    const button = readCard(cardOf(m.activity)!).buttons.find((b) => b.label === "Approve")!;
    return w.teams!.click(
      teamsPerson("bob"),
      { conversationId: m.conversationId, kind: "personal" },
      m.id,
      button.verb!,
      button.data as Json,
    );
  }

  /** What a card says now, and its buttons. */
  async function shown(platform: Platform, user = "bob"): Promise<{ text: string; buttons: string[] }> {
    const card = await w.message(platform, user, "approver", requestId);
    if (!card) throw new Error(`${user} has no approval card on ${platform}`);
    if (platform === "teams") {
      const read = readCard(cardOf((card as StoredActivity).activity)!);
      return { text: read.text, buttons: read.buttons.map((b) => b.label) };
    }
    const blocks = (card as StoredMessage).blocks;
    const buttons = blocks.flatMap((b) =>
      b.type === "actions" ? (b.elements as Json[]).map((e) => String((e.text as Json).text)) : [],
    );
    return { text: JSON.stringify(blocks), buttons };
  }

  const approvals = () => queryAudit(w.engine.handle.db, { event: "approval.approve", requestId });

  it.each<Platform>(["slack", "teams"])(
    "%s: the click is recorded and every card updated when the database is back within the window",
    async (platform) => {
      await ask(platform);
      await cutDatabase();
      const answered = approve(platform);
      await until("a failed attempt", () => (pauses.waiting ? true : undefined));
      expect(await approvals()).toEqual([]);
      await restoreDatabase();
      pauses.end();
      const sent = await answered;
      expect(sent.status).toBe(200);
      await until("the approval", async () => ((await approvals()).length === 1 ? true : undefined));
      await w.settle();
      for (const user of ["bob", "carol", "dave"]) {
        const card = await shown(platform, user);
        expect(card.text).toMatch(/Approved by (Bob Brown|<@U0BOB>)/);
        expect(card.buttons).toEqual([]);
      }
      if (platform === "teams") expect(readCard(answeredCard(sent)).text).toContain("Approved by Bob Brown");
      expect(loggedErrorLines()).toEqual([]);
    },
  );

  it.each<Platform>(["slack", "teams"])(
    "%s: past the window the clicker is told it did not count, the log names the request id, and clicking again works",
    async (platform) => {
      await ask(platform);
      await cutDatabase();
      const answered = approve(platform);
      let settled = false;
      void answered.finally(() => {
        settled = true;
      });
      const told = () =>
        platform === "slack"
          ? w.slackApi!.ephemeralsFor(slackIdOf("bob")).find((e) => e.text.includes("did not count"))?.text
          : settled
            ? ""
            : undefined;
      // Every pause the click makes is ended at once, until it gives up.
      await until("the click to give up", () => {
        if (pauses.waiting) pauses.end();
        return told();
      });
      const sent = await answered;
      // Slack was acknowledged at once; Teams is answered with its error for a card action (botbuilder sends its status).
      expect(sent.status).toBe(platform === "slack" ? 200 : 500);
      const ref = sent.requestId!;
      let text: string;
      if (platform === "slack") {
        const note = w.slackApi!.ephemeralsFor(slackIdOf("bob")).find((e) => e.text.includes("did not count"))!;
        expect(note.via).toBe("response_url");
        text = note.text;
      } else {
        // Teams shows the card's error and leaves the card as it was, Approve button included.
        expect(sent.json).toMatchObject({ statusCode: 500, type: "application/vnd.microsoft.error" });
        text = String((sent.json!.value as Json).message);
      }
      expect(text).toContain("Your click did not count");
      expect(text).toContain("Click again");
      expect(text).toContain(`(ref ${ref})`);
      const logged = loggedErrorLines().filter((l) => String(l.msg).includes("could not be recorded"));
      expect(logged).toEqual([expect.objectContaining({ requestId: ref, action: "pim.approve" })]);
      expect(pauses.policy.now!()).toBeGreaterThanOrEqual(8_000);
      clearLoggedErrors();

      await restoreDatabase();
      expect(await approvals()).toEqual([]);
      expect((await shown(platform)).buttons).toEqual(["Approve", "Deny"]);
      const again = await approve(platform);
      expect(again.status).toBe(200);
      await until("the approval", async () => ((await approvals()).length === 1 ? true : undefined));
      await w.settle();
      expect((await shown(platform)).buttons).toEqual([]);
    },
  );

  /** Ends every pause the work makes until `answered` settles. */
  async function untilAnswered<T>(answered: Promise<T>): Promise<T> {
    let settled = false;
    void answered.finally(() => {
      settled = true;
    });
    await until("the answer", () => {
      if (pauses.waiting) pauses.end();
      return settled ? true : undefined;
    });
    return answered;
  }

  it("slack: a form submitted during the outage stays open, saying it was not saved and to submit again", async () => {
    await ask("slack");
    const bob = slackIdOf("bob");
    const deny = await w.slack!.clickInMessage(bob, (await bobsCard("slack")) as StoredMessage, "pim.deny");
    expect(deny.status).toBe(200);
    const modal = await until("the deny form", () => [...w.slackApi!.views.values()].find((v) => v.user === bob));
    await cutDatabase();
    const sent = await untilAnswered(w.slack!.submit(bob, modal, { comment: "Use the read replica" }));
    expect(sent.json).toMatchObject({ response_action: "errors" });
    const errors = (sent.json as { errors: Record<string, string> }).errors;
    expect(Object.values(errors)).toEqual([
      `Not saved: the database did not answer, so nothing was recorded. Submit again in a moment. (ref ${sent.requestId})`,
    ]);
    expect(loggedErrorLines()).toEqual([
      expect.objectContaining({ requestId: sent.requestId, msg: expect.stringContaining("could not be recorded") }),
    ]);
    clearLoggedErrors();
    await restoreDatabase();
    expect(await queryAudit(w.engine.handle.db, { event: "approval.deny", requestId })).toEqual([]);
  });

  it("teams: a form submitted during the outage keeps its card, with the card's error saying to submit again", async () => {
    const alice = teamsPerson("alice");
    const where = w.teams!.personal(alice);
    expect((await w.teams!.message(alice, "elevate")).status).toBe(200);
    const form = await until("the request form", () =>
      w
        .connector!.inConversation(where.conversationId)
        .find((m) => readCard(cardOf(m.activity) ?? {}).inputs.some((i) => i.id === "roles")),
    );
    const button = readCard(cardOf(form.activity)!).buttons.find((b) => b.verb === FORMS.request)!;
    await cutDatabase();
    const sent = await untilAnswered(
      w.teams!.click(alice, where, form.id, FORMS.request, {
        roles: await w.engine.role("reader"),
        duration: String(HOUR),
        justification: "Deploy",
        ...(button.data as Json),
      }),
    );
    expect(sent.json).toMatchObject({
      statusCode: 500,
      type: "application/vnd.microsoft.error",
      value: {
        message: `Not saved: the database did not answer, so nothing was recorded. Submit again in a moment. (ref ${sent.requestId})`,
      },
    });
    expect(loggedErrorLines()).toEqual([
      expect.objectContaining({ requestId: sent.requestId, msg: expect.stringContaining("could not be recorded") }),
    ]);
    clearLoggedErrors();
    await restoreDatabase();
  });

  /** Bob's Teams chat, where what the bot says after Teams' wait appears. */
  const bobsNotes = () => {
    const where = w.teams!.personal(teamsPerson("bob"));
    return w.connector!.inConversation(where.conversationId).map((m) => readCard(cardOf(m.activity) ?? {}).text);
  };

  /** Ends pauses until Teams has its answer, which comes once its wait is over. */
  async function answeredLate(answered: ReturnType<typeof approve>) {
    const sent = await untilAnswered(answered);
    expect(sent.status).toBe(200);
    expect(sent.json).toMatchObject({ statusCode: 200, type: "application/vnd.microsoft.activity.message" });
    expect(String(sent.json!.value)).toContain(
      `The database is not answering; your click is being tried again for up to 8 seconds, and you will be told here if it does not count. (ref ${sent.requestId})`,
    );
    return sent;
  }

  it("teams: a click that outlasts Teams' wait is answered that it is still being tried, and recorded when the database is back", async () => {
    await ask("teams");
    await cutDatabase();
    await answeredLate(approve("teams"));
    expect(await approvals()).toEqual([]);
    await until("the next attempt", () => (pauses.waiting ? true : undefined));
    await restoreDatabase();
    pauses.end();
    await until("the approval", async () => ((await approvals()).length === 1 ? true : undefined));
    await w.settle();
    for (const user of ["bob", "carol", "dave"]) {
      const card = await shown("teams", user);
      expect(card.text).toContain("Approved by Bob Brown");
      expect(card.buttons).toEqual([]);
    }
    expect(loggedErrorLines()).toEqual([]);
  });

  it("teams: a click that outlasts Teams' wait and the window is told in the chat that it did not count", async () => {
    await ask("teams");
    await cutDatabase();
    const sent = await answeredLate(approve("teams"));
    const note = await until("the note in the chat", () => {
      if (pauses.waiting) pauses.end();
      return bobsNotes().find((text) => text.includes("did not count"));
    });
    expect(note).toContain("Your click did not count");
    expect(note).toContain(`(ref ${sent.requestId})`);
    await w.settle();
    expect(loggedErrorLines()).toEqual([expect.objectContaining({ requestId: sent.requestId, action: "pim.approve" })]);
    clearLoggedErrors();
    await restoreDatabase();
    expect(await approvals()).toEqual([]);
  });

  it.each<Platform>(["slack", "teams"])(
    "%s: a click that fails for another reason is logged with its request id, and the clicker is told with the ref",
    async (platform) => {
      await ask(platform);
      const now = w.clock.now;
      w.clock.now = () => {
        throw new Error("the clock is broken");
      };
      try {
        const sent = await approve(platform);
        const text =
          platform === "slack"
            ? (await until("the note", () => w.slackApi!.ephemeralsFor(slackIdOf("bob")).at(-1)))!.text
            : String((sent.json!.value as Json).message);
        expect(text).toBe(
          `Something went wrong on my side, so this may not have counted; it was logged. Look again, or try again in a moment. (ref ${sent.requestId})`,
        );
        expect(loggedErrorLines()).toEqual([
          expect.objectContaining({
            requestId: sent.requestId,
            action: "pim.approve",
            msg: "the approve click failed",
          }),
        ]);
        clearLoggedErrors();
      } finally {
        w.clock.now = now;
      }
    },
  );
});
