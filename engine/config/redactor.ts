/**
 * Replaces every known secret value with *** in text that may reach logs,
 * errors or warehouse tables (a destination's error body can echo a token).
 */
export class Redactor {
  private readonly secrets = new Set<string>();

  add(value: string): void {
    // Very short values would blank out ordinary words; they are not real secrets.
    if (value.length >= 6) this.secrets.add(value);
  }

  redact = (text: string): string => {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join('***');
    return out;
  };
}
