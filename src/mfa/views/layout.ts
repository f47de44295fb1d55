import { html, type SafeHtml } from "./html.js";

export interface Layout {
  title: string;
  /** Absolute path of /mfa under PUBLIC_URL, for assets. */
  base: string;
  body: SafeHtml;
  /** Passkey pages load the WebAuthn helper and our script; every other page runs no script. */
  passkeys?: boolean;
}

export function layout({ title, base, body, passkeys }: Layout): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${title} · pim-bot</title>
<link rel="stylesheet" href="${base}/assets/mfa.css">
${passkeys ? html`<script src="${base}/assets/webauthn.js" defer></script><script src="${base}/assets/passkey.js" defer></script>` : ""}
</head>
<body>
<header class="bar"><span class="logo" aria-hidden="true">◆</span> pim-bot <span class="sub">privileged access</span></header>
<main>
${body}
</main>
</body>
</html>
`.value;
}
