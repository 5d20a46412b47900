/** First step of the pipeline: raw chat text → a command word and its arguments, or a refusal. */

export const MAX_MESSAGE_CHARS = 500;

export type Normalized =
  | { kind: 'not_command' }
  | {
      kind: 'rejected';
      reason: 'too_long' | 'control_chars' | 'lookalike_prefix';
      detail: string;
      word: string;
    }
  | { kind: 'command'; word: string; args: string[] };

/**
 * Invisible format characters are stripped rather than refused: chat clients (Chatterino, 7TV)
 * append U+E0000 or U+034F to repeat a message past duplicate filters, and bidi/zero-width
 * characters change nothing once removed. Real control characters (C0/C1) are refused.
 */
const INVISIBLE = /\p{Cf}|\u034f|[\u{e0000}-\u{e007f}]/gu;
const CONTROL = /\p{Cc}/u;

/** Long enough to see a look-alike prefix that NFKC expands (e.g. U+FE57 SMALL EXCLAMATION MARK). */
const LOOKALIKE_WINDOW = 8;

/** The command word is the whole first token, lower-cased; text like `! wow` or `!!!` is not a command. */
function firstWord(body: string): string {
  const token = body.split(/\s/u, 1)[0] ?? '';
  return /^[\p{L}\p{N}]/u.test(token) ? token.toLowerCase() : '';
}

export function normalizeMessage(text: string, prefix: string): Normalized {
  const cleaned = text.replace(INVISIBLE, '').trim();
  let body: string;
  if (cleaned.startsWith(prefix)) {
    body = cleaned.slice(prefix.length);
  } else {
    const head = cleaned.slice(0, prefix.length + LOOKALIKE_WINDOW).normalize('NFKC');
    if (!head.startsWith(prefix)) return { kind: 'not_command' };
    const word = firstWord(head.slice(prefix.length));
    if (!word) return { kind: 'not_command' };
    const codes = [...cleaned.slice(0, prefix.length)].map(
      (c) => `U+${c.codePointAt(0)?.toString(16).toUpperCase()}`,
    );
    return {
      kind: 'rejected',
      reason: 'lookalike_prefix',
      detail: `look-alike prefix ${codes.join(' ')}`,
      word,
    };
  }
  const word = firstWord(body);
  if (!word) return { kind: 'not_command' };
  const length = [...cleaned].length;
  if (length > MAX_MESSAGE_CHARS) {
    return { kind: 'rejected', reason: 'too_long', detail: `message of ${length} characters`, word };
  }
  if (CONTROL.test(cleaned))
    return { kind: 'rejected', reason: 'control_chars', detail: 'control characters', word };
  const tokens = body.trim().split(/\s+/u);
  return { kind: 'command', word, args: tokens.slice(1) };
}
