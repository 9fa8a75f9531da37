/**
 * Replaces every known secret with *** in text that may reach logs, errors or
 * warehouse tables. A destination's error body can echo a credential in a form
 * other than the one configured, so each secret is registered with the forms a
 * server may send back: percent-encoded (a query string), JSON-escaped, and,
 * for a URL, the credentials inside it (query values, user info). Forms a
 * destination derives itself (a Basic header's base64, a minted access token)
 * are registered through ctx.registerSecret as they come into being.
 */
export class Redactor {
  /** Replaced wherever they occur. */
  private readonly anywhere = new Set<string>();
  /** Too short to replace inside words without blanking ordinary text: replaced as whole tokens only. */
  private readonly wholeTokens = new Set<string>();
  private ordered: { anywhere: string[]; tokens: RegExp | undefined } | undefined;

  add(value: string): void {
    for (const form of secretForms(value)) this.addForm(form);
    for (const part of urlCredentials(value)) for (const form of secretForms(part)) this.addForm(form);
  }

  redact = (text: string): string => {
    this.ordered ??= {
      // Longest first: a secret that contains another is replaced whole, not around the shorter one.
      anywhere: [...this.anywhere].sort((a, b) => b.length - a.length),
      tokens: this.wholeTokens.size === 0 ? undefined : new RegExp(`(?<![A-Za-z0-9])(?:${[...this.wholeTokens].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|')})(?![A-Za-z0-9])`, 'g'),
    };
    let out = text;
    for (const s of this.ordered.anywhere) if (out.includes(s)) out = out.split(s).join('***');
    if (this.ordered.tokens) out = out.replace(this.ordered.tokens, '***');
    return out;
  };

  private addForm(form: string): void {
    if (form === '') return;
    if (form.length >= MIN_ANYWHERE) this.anywhere.add(form);
    else this.wholeTokens.add(form);
    this.ordered = undefined;
  }
}

/** Below this length a secret is matched only as a whole token ("abc" in "abcdef" is left alone). */
const MIN_ANYWHERE = 6;

/** The value as configured, as a query string or path carries it, and as a JSON string carries it. */
function secretForms(value: string): string[] {
  const forms = new Set([value]);
  try {
    forms.add(encodeURIComponent(value));
  } catch {
    // a lone surrogate cannot be percent-encoded; nobody can send that form back either
  }
  forms.add(new URLSearchParams({ v: value }).toString().slice(2));
  forms.add(JSON.stringify(value).slice(1, -1));
  return [...forms];
}

/**
 * Credentials carried inside a URL-valued secret (a webhook URL with
 * `?token=...`, `https://user:pass@host`): each query value and the password,
 * as written and decoded, so an echo of just the token is caught too. Values
 * under six characters are not taken from a URL: `?format=json` is not a secret.
 */
function urlCredentials(value: string): string[] {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return [];
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [];
  }
  const parts: string[] = [];
  if (url.password) parts.push(url.password, safeDecode(url.password));
  for (const raw of url.search.replace(/^\?/, '').split('&')) {
    const v = raw.slice(raw.indexOf('=') + 1);
    parts.push(v, safeDecode(v.replace(/\+/g, ' ')));
  }
  return parts.filter((p) => p.length >= MIN_ANYWHERE);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
