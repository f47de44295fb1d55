import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
  VerifiedAuthenticationResponse,
  VerifiedRegistrationResponse,
} from "@simplewebauthn/server";
import type { Executor } from "../db/client.js";
import { insertPasskey, lockUsablePasskey, passkeyIdsOf, recordPasskeyUse } from "../db/repos/passkeys.js";

export interface RelyingParty {
  /** The host name of PUBLIC_URL. */
  id: string;
  name: string;
  /** The origin of PUBLIC_URL: the only place passkeys may be used from. */
  origin: string;
}

export type PasskeyCheck = { ok: true; credentialId: string } | { ok: false; message: string };

let library: Promise<typeof import("@simplewebauthn/server")> | undefined;

/**
 * The WebAuthn library, loaded on the first passkey page rather than at start-up (it and its
 * certificate parsers are a good part of what a start would spend loading code). Options are
 * always asked for before a response is verified, so verifying never waits for it inside a
 * transaction.
 */
function webauthn(): Promise<typeof import("@simplewebauthn/server")> {
  library ??= import("@simplewebauthn/server");
  return library;
}

/**
 * Passkeys through @simplewebauthn/server. User verification (PIN, biometrics) is required both
 * at registration and at every use: a passkey alone is possession, not a second factor.
 */
export class PasskeyFactor {
  constructor(private readonly rp: RelyingParty) {}

  static forPublicUrl(publicUrl: URL): PasskeyFactor {
    return new PasskeyFactor({ id: publicUrl.hostname, name: "pim-bot", origin: publicUrl.origin });
  }

  /** The person's passkeys; with `usableAt`, only those that count at that time. */
  async credentialIds(
    db: Executor,
    principalId: string,
    usableAt?: Date,
  ): Promise<{ id: string; transports: string[] }[]> {
    return passkeyIdsOf(db, principalId, usableAt);
  }

  async registrationOptions(
    db: Executor,
    who: { id: string; label: string; name: string },
  ): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const { generateRegistrationOptions } = await webauthn();
    return generateRegistrationOptions({
      rpName: this.rp.name,
      rpID: this.rp.id,
      userName: who.label,
      userDisplayName: who.name,
      userID: new TextEncoder().encode(who.id),
      attestationType: "none",
      excludeCredentials: await this.credentialIds(db, who.id),
      authenticatorSelection: { residentKey: "preferred", userVerification: "required" },
    });
  }

  async verifyRegistration(
    tx: Executor,
    principalId: string,
    response: unknown,
    challenge: string,
    now: Date,
    usable: { at: Date; via: string },
  ): Promise<PasskeyCheck> {
    const { verifyRegistrationResponse } = await webauthn();
    let verified: VerifiedRegistrationResponse;
    try {
      verified = await verifyRegistrationResponse({
        response: response as RegistrationResponseJSON,
        expectedChallenge: challenge,
        expectedOrigin: this.rp.origin,
        expectedRPID: this.rp.id,
        requireUserVerification: true,
      });
    } catch (error) {
      return { ok: false, message: `The passkey could not be registered: ${reason(error)}` };
    }
    if (!verified.verified) return { ok: false, message: "The passkey could not be registered." };
    const { credential } = verified.registrationInfo;
    await insertPasskey(tx, {
      id: credential.id,
      principalId,
      publicKey: Buffer.from(credential.publicKey).toString("base64url"),
      counter: credential.counter,
      transports: credential.transports ?? [],
      createdAt: now,
      usableAt: usable.at,
      enrolledVia: usable.via,
    });
    return { ok: true, credentialId: credential.id };
  }

  async authenticationOptions(
    db: Executor,
    principalId: string,
    now: Date,
  ): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const { generateAuthenticationOptions } = await webauthn();
    return generateAuthenticationOptions({
      rpID: this.rp.id,
      allowCredentials: await this.credentialIds(db, principalId, now),
      userVerification: "required",
    });
  }

  async verifyAuthentication(
    tx: Executor,
    principalId: string,
    response: unknown,
    challenge: string,
    now: Date,
  ): Promise<PasskeyCheck> {
    const id = (response as { id?: unknown } | null)?.id;
    if (typeof id !== "string") return { ok: false, message: "The browser sent no passkey." };
    // Looked up with the principal: someone else's passkey is not one of this person's.
    const stored = await lockUsablePasskey(tx, id, principalId, now);
    if (!stored) return { ok: false, message: "That passkey is not registered to you." };
    const { verifyAuthenticationResponse } = await webauthn();
    let verified: VerifiedAuthenticationResponse;
    try {
      verified = await verifyAuthenticationResponse({
        response: response as AuthenticationResponseJSON,
        expectedChallenge: challenge,
        expectedOrigin: this.rp.origin,
        expectedRPID: this.rp.id,
        credential: {
          id: stored.id,
          publicKey: new Uint8Array(Buffer.from(stored.publicKey, "base64url")),
          counter: stored.counter,
          transports: stored.transports as never,
        },
        requireUserVerification: true,
      });
    } catch (error) {
      return { ok: false, message: `The passkey was not accepted: ${reason(error)}` };
    }
    if (!verified.verified) return { ok: false, message: "The passkey was not accepted." };
    await recordPasskeyUse(tx, stored.id, verified.authenticationInfo.newCounter, now);
    return { ok: true, credentialId: stored.id };
  }
}

function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 200 ? `${message.slice(0, 200)}…` : message;
}
