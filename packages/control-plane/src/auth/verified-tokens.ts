import { type JwtConfig, type VerifiedAccessToken, verifyAccessTokenClaims } from './jwt.js';

export const DEFAULT_VERIFIED_TOKEN_CACHE_SIZE = 10_000;

/**
 * Access-token verification with a bounded memory of tokens already verified. Checking a signature
 * costs more CPU than the rest of a polled request (engines send the same token every few seconds
 * for an hour), so a token string seen valid before is not verified again; its time claims (`exp`,
 * `nbf`) are still checked against the clock on every request, exactly as the verifier does. Only
 * valid tokens are remembered, keyed by the whole token (signature included), so nothing unsigned
 * can ever hit the cache. The oldest entry makes room when the cache is full.
 */
export class VerifiedTokens {
  private readonly seen = new Map<string, VerifiedAccessToken>();

  constructor(
    private readonly cfg: JwtConfig,
    private readonly maxEntries: number = DEFAULT_VERIFIED_TOKEN_CACHE_SIZE,
  ) {}

  /** The user id of a valid token at `nowMs`, or null. */
  async verify(token: string, nowMs: number): Promise<string | null> {
    const known = this.seen.get(token);
    if (known) return validAt(known, nowMs) ? known.sub : null;
    const claims = await verifyAccessTokenClaims(this.cfg, token, nowMs);
    if (!claims) return null;
    if (this.seen.size >= this.maxEntries) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.seen.set(token, claims);
    return claims.sub;
  }

  get size(): number {
    return this.seen.size;
  }
}

/** jose's rule without clock tolerance: expired when `exp <= now`, not yet valid when `nbf > now`. */
function validAt(t: VerifiedAccessToken, nowMs: number): boolean {
  const now = Math.floor(nowMs / 1000);
  return t.exp > now && (t.nbf === null || t.nbf <= now);
}
