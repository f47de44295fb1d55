// Passkey buttons on the step-up page. Served from /mfa/assets: the page allows no inline script
// and no fetch. The options come in the form's data-options; the answer goes back as a form post.
(() => {
  const lib = window.SimpleWebAuthnBrowser;

  function say(form, text) {
    const status = form.querySelector(".passkey-status");
    status.hidden = false;
    status.textContent = text;
  }

  async function run(form, button) {
    button.disabled = true;
    try {
      const optionsJSON = JSON.parse(form.dataset.options);
      const response =
        form.dataset.passkey === "enroll"
          ? await lib.startRegistration({ optionsJSON })
          : await lib.startAuthentication({ optionsJSON });
      form.elements.response.value = JSON.stringify(response);
      form.submit();
    } catch (error) {
      say(form, `The passkey was not used: ${error?.message ?? String(error)}`);
      button.disabled = false;
    }
  }

  for (const form of document.querySelectorAll("form[data-passkey]")) {
    const button = form.querySelector("button");
    if (!lib?.browserSupportsWebAuthn()) {
      say(form, "This browser cannot use passkeys here; use another method.");
      continue;
    }
    button.disabled = false;
    button.addEventListener("click", () => run(form, button));
  }
})();
