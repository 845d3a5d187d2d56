/**
 * A JSON syntax check over raw bytes that builds nothing. `JSON.parse` of a hostile body costs far
 * more memory than the body (25 MiB of `[{},{},…]` is hundreds of MiB of objects), so bodies are
 * measured first: whether they are valid JSON (exactly what `JSON.parse(bytes.toString('utf8'))`
 * accepts: invalid UTF-8 only ever decodes to U+FFFD, never to a quote or a bracket), how many
 * values they hold and how deep they nest. Only then does a route parse what it must.
 */

export interface JsonShape {
  valid: boolean;
  /** Values seen (objects, arrays, strings, numbers, literals), up to the point of failure. */
  values: number;
  /** Deepest nesting of objects and arrays. */
  depth: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const ARRAY = 1;
const OBJECT = 2;
const ESCAPES = new Set([QUOTE, BACKSLASH, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);
const LITERALS = [Buffer.from('true'), Buffer.from('false'), Buffer.from('null')];

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;
const isHex = (c: number | undefined): boolean => c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));

class Scanner {
  i = 0;
  constructor(readonly b: Uint8Array) {}

  ws(): void {
    const b = this.b;
    while (this.i < b.length) {
      const c = b[this.i];
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.i++;
      else break;
    }
  }

  string(): boolean {
    const b = this.b;
    if (b[this.i] !== QUOTE) return false;
    this.i++;
    while (this.i < b.length) {
      const c = b[this.i++] as number;
      if (c === QUOTE) return true;
      if (c < 0x20) return false;
      if (c === BACKSLASH) {
        const e = b[this.i++];
        if (e === 0x75) {
          for (let k = 0; k < 4; k++) if (!isHex(b[this.i++])) return false;
        } else if (e === undefined || !ESCAPES.has(e)) return false;
      }
    }
    return false;
  }

  number(): boolean {
    const b = this.b;
    if (b[this.i] === MINUS) this.i++;
    if (b[this.i] === 0x30) this.i++;
    else if (isDigit(b[this.i])) while (isDigit(b[this.i])) this.i++;
    else return false;
    if (b[this.i] === 0x2e) {
      this.i++;
      if (!isDigit(b[this.i])) return false;
      while (isDigit(b[this.i])) this.i++;
    }
    if (b[this.i] === 0x65 || b[this.i] === 0x45) {
      this.i++;
      if (b[this.i] === 0x2b || b[this.i] === MINUS) this.i++;
      if (!isDigit(b[this.i])) return false;
      while (isDigit(b[this.i])) this.i++;
    }
    return true;
  }

  literal(): boolean {
    for (const word of LITERALS) {
      if (this.b[this.i] !== word[0]) continue;
      for (let k = 0; k < word.length; k++) if (this.b[this.i + k] !== word[k]) return false;
      this.i += word.length;
      return true;
    }
    return false;
  }

  /** `"key" :` of an object member. */
  key(): boolean {
    if (!this.string()) return false;
    this.ws();
    if (this.b[this.i] !== COLON) return false;
    this.i++;
    this.ws();
    return true;
  }
}

export function jsonShape(bytes: Uint8Array): JsonShape {
  const s = new Scanner(bytes);
  // Each open container takes at least two bytes, so a valid document is at most half as deep.
  const stack = new Uint8Array(Math.floor(bytes.length / 2) + 1);
  let depth = 0;
  let maxDepth = 0;
  let values = 0;
  const fail = (): JsonShape => ({ valid: false, values, depth: maxDepth });
  s.ws();
  for (;;) {
    // A value starts at s.i.
    values++;
    const c = bytes[s.i];
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      s.i++;
      s.ws();
      const close = c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET;
      if (bytes[s.i] === close) {
        s.i++;
      } else {
        if (depth + 1 >= stack.length) return fail();
        stack[depth++] = c === OPEN_BRACE ? OBJECT : ARRAY;
        maxDepth = Math.max(maxDepth, depth);
        if (c === OPEN_BRACE && !s.key()) return fail();
        continue;
      }
    } else if (c === QUOTE) {
      if (!s.string()) return fail();
    } else if (c === MINUS || isDigit(c)) {
      if (!s.number()) return fail();
    } else if (!s.literal()) {
      return fail();
    }
    // A value ended: close containers until another value is due.
    for (;;) {
      s.ws();
      if (depth === 0) return s.i === bytes.length ? { valid: true, values, depth: maxDepth } : fail();
      const top = stack[depth - 1];
      const next = bytes[s.i];
      if (next === COMMA) {
        s.i++;
        s.ws();
        if (top === OBJECT && !s.key()) return fail();
        break;
      }
      if ((top === ARRAY && next === CLOSE_BRACKET) || (top === OBJECT && next === CLOSE_BRACE)) {
        s.i++;
        depth--;
        continue;
      }
      return fail();
    }
  }
}
