import { isPgStorableText } from '@telemy/protocol';
import { type CryptoKey, importPKCS8, importSPKI, jwtVerify, type KeyObject, SignJWT } from 'jose';

type Key = CryptoKey | KeyObject | Uint8Array;

export const DEFAULT_JWT_ISSUER = 'telemy-control-plane';
export const DEFAULT_JWT_AUDIENCE = 'telemy-api';
export const DEFAULT_JWT_TTL_SECONDS = 3600;

/** Keys and claims of `cp_access_jwt`; the algorithm is pinned, never taken from the token. */
export interface JwtConfig {
  alg: 'HS256' | 'EdDSA';
  /** HS256: the secret; EdDSA: the private key (absent on verify-only replicas). */
  signingKey: Key | null;
  verifyKey: Key;
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

export function hs256Config(
  secret: string,
  opts: Partial<Pick<JwtConfig, 'issuer' | 'audience' | 'ttlSeconds'>> = {},
): JwtConfig {
  if (secret.length < 32) throw new Error('TELEMY_JWT_SECRET must be at least 32 characters');
  const key = new TextEncoder().encode(secret);
  return {
    alg: 'HS256',
    signingKey: key,
    verifyKey: key,
    issuer: opts.issuer ?? DEFAULT_JWT_ISSUER,
    audience: opts.audience ?? DEFAULT_JWT_AUDIENCE,
    ttlSeconds: opts.ttlSeconds ?? DEFAULT_JWT_TTL_SECONDS,
  };
}

/**
 * From `TELEMY_JWT_SECRET` (HS256) or `TELEMY_JWT_PRIVATE_KEY`/`TELEMY_JWT_PUBLIC_KEY` (EdDSA, PEM);
 * `TELEMY_JWT_ISSUER` and `TELEMY_JWT_AUDIENCE` override the claim values.
 */
export async function jwtConfigFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<JwtConfig> {
  const issuer = env.TELEMY_JWT_ISSUER || DEFAULT_JWT_ISSUER;
  const audience = env.TELEMY_JWT_AUDIENCE || DEFAULT_JWT_AUDIENCE;
  if (env.TELEMY_JWT_SECRET) return hs256Config(env.TELEMY_JWT_SECRET, { issuer, audience });
  if (env.TELEMY_JWT_PUBLIC_KEY) {
    const verifyKey = await importSPKI(env.TELEMY_JWT_PUBLIC_KEY, 'EdDSA');
    const signingKey = env.TELEMY_JWT_PRIVATE_KEY
      ? await importPKCS8(env.TELEMY_JWT_PRIVATE_KEY, 'EdDSA')
      : null;
    return { alg: 'EdDSA', signingKey, verifyKey, issuer, audience, ttlSeconds: DEFAULT_JWT_TTL_SECONDS };
  }
  throw new Error(
    'no JWT key configured: set TELEMY_JWT_SECRET (HS256, 32+ characters) or TELEMY_JWT_PRIVATE_KEY/TELEMY_JWT_PUBLIC_KEY (EdDSA PEM)',
  );
}

export async function signAccessToken(
  cfg: JwtConfig,
  userId: string,
  nowMs: number,
  ttlSeconds: number = cfg.ttlSeconds,
): Promise<{ token: string; expiresAt: Date }> {
  if (!cfg.signingKey) throw new Error('this control plane has no JWT signing key');
  const iat = Math.floor(nowMs / 1000);
  const exp = iat + ttlSeconds;
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: cfg.alg, typ: 'JWT' })
    .setSubject(userId)
    .setIssuer(cfg.issuer)
    .setAudience(cfg.audience)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(exp)
    .sign(cfg.signingKey);
  return { token, expiresAt: new Date(exp * 1000) };
}

/** The claims the API acts on, of a token whose signature and claims were valid when verified. */
export interface VerifiedAccessToken {
  sub: string;
  /** Seconds since the epoch. */
  exp: number;
  nbf: number | null;
}

/**
 * The claims of a valid token, or null for anything else (bad signature, algorithm, claims, time).
 * A `sub` the database cannot hold as text (a NUL, an unpaired surrogate) is an invalid claim like
 * an empty one: the request is unauthorized, and the user id never reaches a query.
 */
export async function verifyAccessTokenClaims(
  cfg: JwtConfig,
  token: string,
  nowMs: number,
): Promise<VerifiedAccessToken | null> {
  try {
    const { payload } = await jwtVerify(token, cfg.verifyKey, {
      algorithms: [cfg.alg],
      issuer: cfg.issuer,
      audience: cfg.audience,
      requiredClaims: ['exp', 'sub', 'iss', 'aud'],
      currentDate: new Date(nowMs),
    });
    if (
      typeof payload.sub !== 'string' ||
      payload.sub.length === 0 ||
      !isPgStorableText(payload.sub) ||
      payload.exp === undefined
    )
      return null;
    return { sub: payload.sub, exp: payload.exp, nbf: payload.nbf ?? null };
  } catch {
    return null;
  }
}

/** The user id of a valid token, or null for anything else (bad signature, algorithm, claims, time). */
export async function verifyAccessToken(
  cfg: JwtConfig,
  token: string,
  nowMs: number,
): Promise<string | null> {
  return (await verifyAccessTokenClaims(cfg, token, nowMs))?.sub ?? null;
}
