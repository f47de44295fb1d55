/**
 * The parity table (parity-table.ts) in a deployment with both platforms: every command, button
 * and form done on Slack and done on Teams comes out the same. Its own file, so that it runs
 * beside the single-platform deployments of parity.test.ts.
 */
import { describeParity } from "./parity-table.js";

describeParity([{ name: "Slack and Teams", platforms: ["slack", "teams"] }]);
