import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { REFERENCE_PATH, renderPolicyReference } from "../../scripts/policy-reference.js";

it("docs/policy-reference.md is what the pim.yaml schema generates (run `npx tsx scripts/policy-reference.ts`)", () => {
  const reference = renderPolicyReference();
  expect(readFileSync(REFERENCE_PATH, "utf8")).toBe(reference);
  // Every section of the file and a few deep settings are there, so an empty rendering cannot pass.
  for (const setting of [
    "`administration.role`",
    "`roles[].policy.assignment.requireMfaOnActive`",
    "`defaults.notifications.assignment`",
    "`assignments[].end`",
  ])
    expect(reference).toContain(setting);
});
