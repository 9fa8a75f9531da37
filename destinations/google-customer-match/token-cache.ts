/** An access token and when it stops being good (ms since the epoch). */
export interface MintedToken {
  readonly accessToken: string;
  readonly expiresAt: number;
}

/** What the HTTP clients need from a credential: a current token, and a way to drop one the API refused. */
export interface AccessTokenSource {
  accessToken(): Promise<string>;
  /** Forgets `token` (the API refused it) so the next call mints a new one; a newer token is kept. */
  invalidate(token: string): void;
}

/**
 * Access tokens by credential, shared in the process: a run's batches and the
 * job refresh before it use one token until it nears expiry, and concurrent
 * batches wait for one mint instead of each minting their own. Keyed by a hash of
 * the credential, so no secret is kept as a map key.
 */
const cache = new Map<string, MintedToken>();
const inFlight = new Map<string, Promise<MintedToken>>();

/** One credential's cached token: minted by `mint` when missing or within `marginMs` of expiry. */
export class CachedToken {
  constructor(
    private readonly key: string,
    private readonly mint: () => Promise<MintedToken>,
    private readonly marginMs: number,
    private readonly now: () => number,
    /** Told every token handed out (cached or new), so the run redacts it wherever it could surface. */
    private readonly onToken: (token: string) => void,
  ) {}

  async get(): Promise<string> {
    const cached = cache.get(this.key);
    if (cached && cached.expiresAt - this.marginMs > this.now()) return this.handOut(cached.accessToken);
    let pending = inFlight.get(this.key);
    if (!pending) {
      pending = this.mint().finally(() => inFlight.delete(this.key));
      inFlight.set(this.key, pending);
    }
    const fresh = await pending;
    cache.set(this.key, fresh);
    return this.handOut(fresh.accessToken);
  }

  invalidate(token: string): void {
    if (cache.get(this.key)?.accessToken === token) cache.delete(this.key);
  }

  private handOut(token: string): string {
    this.onToken(token);
    return token;
  }
}
