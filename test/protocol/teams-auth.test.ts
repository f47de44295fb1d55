import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { teamsConversations } from "../../src/db/schema/teams-conversations.js";
import { describeChat } from "../support/databases.js";
import { TENANT_ID } from "../support/teams/teams-sender.js";
import { startTeamsWorld, type TeamsWorld, teamsUser } from "../support/teams/teams-world.js";
import { CHANNEL_ISSUER, otherKey, TokenIssuer } from "../support/teams/token-issuer.js";

const APP_ID = "6a3f9b2e-0c1d-4e5f-8a7b-9c0d1e2f3a4b";

/**
 * With MICROSOFT_APP_ID set, botbuilder's own authentication decides: every activity must carry
 * a token signed by a key from the channel's OpenID metadata, issued for our app id and for the
 * service URL the activity names. The token service is stood in locally; the adapter is real.
 */
describeChat("Teams: authentication with an app id", (driver) => {
  let w: TeamsWorld;
  let issuer: TokenIssuer;
  let n = 0;
  let where: { conversationId: string; kind: "personal" };

  beforeAll(async () => {
    issuer = await new TokenIssuer().start();
    w = await startTeamsWorld(driver, {
      teamsAuth: {
        appId: APP_ID,
        appPassword: "not-used-by-these-tests",
        channelOpenIdMetadataUrl: issuer.metadataUrl,
        channelTokenIssuer: CHANNEL_ISSUER,
      },
    });
  });
  afterAll(async () => {
    await w.dispose();
    await issuer.stop();
  });
  beforeEach(() => {
    where = { conversationId: `a:auth-test-${++n}`, kind: "personal" };
  });

  /** A refresh click from Alice: it needs no call back to the connector, so only authentication is tested. */
  async function refresh(authorization: string | undefined) {
    w.teams.authorization = authorization;
    const sent = await w.teams.click(teamsUser("alice"), where, "m-none", "pim.refresh", { view: "tracked" });
    w.teams.authorization = undefined;
    return sent;
  }

  const stored = async () =>
    (
      await w.deps.db
        .select()
        .from(teamsConversations)
        .where(eq(teamsConversations.conversationId, where.conversationId))
    ).length === 1;

  const claims = () => ({ aud: APP_ID, serviceurl: w.connector.serviceUrl, tid: TENANT_ID });

  it("accepts an activity with a token the channel signed for this app and this service URL", async () => {
    const sent = await refresh(`Bearer ${issuer.token(claims())}`);
    expect(sent.status).toBe(200);
    expect(sent.json).toMatchObject({ statusCode: 200, type: "application/vnd.microsoft.activity.message" });
    expect(await stored()).toBe(true);
    expect(issuer.keyFetches).toBeGreaterThan(0);
  });

  it("refuses an activity without a token, and does nothing with it", async () => {
    const sent = await refresh(undefined);
    expect(sent.status).toBe(401);
    expect(await stored()).toBe(false);
    const message = await w.teams.message(teamsUser("alice"), "status", where);
    expect(message.status).toBe(401);
    expect(w.connector.inConversation(where.conversationId)).toEqual([]);
  });

  it("refuses a token signed with another key", async () => {
    expect((await refresh(`Bearer ${issuer.token(claims(), otherKey())}`)).status).toBe(401);
    expect(await stored()).toBe(false);
  });

  it("refuses a token issued for another bot", async () => {
    expect((await refresh(`Bearer ${issuer.token({ ...claims(), aud: "another-app" })}`)).status).toBe(401);
    expect(await stored()).toBe(false);
  });

  it("refuses a token for another service URL, so nobody can point replies elsewhere", async () => {
    expect((await refresh(`Bearer ${issuer.token({ ...claims(), serviceurl: "https://evil.example/" })}`)).status).toBe(
      401,
    );
    expect(await stored()).toBe(false);
  });

  it("refuses an expired token and one from another issuer", async () => {
    const past = Math.floor(Date.now() / 1000) - 7200;
    expect(
      (await refresh(`Bearer ${issuer.token({ ...claims(), iat: past, nbf: past, exp: past + 600 })}`)).status,
    ).toBe(401);
    expect((await refresh(`Bearer ${issuer.token({ ...claims(), iss: "https://sts.evil.example/" })}`)).status).toBe(
      401,
    );
    expect((await refresh("Basic YWxpY2U6c2VjcmV0")).status).toBe(401);
    expect(await stored()).toBe(false);
  });
});
