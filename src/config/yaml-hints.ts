/**
 * The yaml parser notices some mistakes only where it gives up (the line after an unclosed `{`, the end of a file
 * with an open quote). These move such errors to the character the author has to fix and say what it is.
 */
export function relocateSyntaxError(
  text: string,
  code: string,
  message: string,
  start: number,
  end: number,
): { message: string; start: number; end: number } {
  const flow = /Flow (map|sequence) .*end with a ([}\]])/.exec(message);
  if (flow || /Missing closing .?quote/.test(message)) {
    const open = openerAt(text, start);
    const wanted = flow ? (flow[2] === '}' ? '{' : '[') : undefined;
    if (open && (!wanted || open.char === wanted)) {
      const closer = { '{': '}', '[': ']', '"': '"', "'": "'" }[open.char];
      return {
        message: `YAML syntax: this ${open.char} is never closed (expected a matching ${closer})`,
        start: open.offset,
        end: open.offset + 1,
      };
    }
  }
  if (code === 'MULTILINE_IMPLICIT_KEY' || code === 'BLOCK_AS_IMPLICIT_KEY') {
    const lastLine = text.lastIndexOf('\n', end - 1);
    if (lastLine >= start) {
      const at = lastLine + 1 + (/^\s*/.exec(text.slice(lastLine + 1))?.[0].length ?? 0);
      return {
        message:
          'YAML syntax: this line is indented more than the lines before it, so it reads as part of the value above',
        start: at,
        end: at + 1,
      };
    }
  }
  return { message: `YAML syntax: ${message}`, start, end };
}

/** The innermost bracket or quote still open at `offset`, skipping comments and quoted text. */
function openerAt(text: string, offset: number): { char: string; offset: number } | undefined {
  const stack: { char: string; offset: number }[] = [];
  let quote: { char: string; offset: number } | undefined;
  let prev = '\n';
  for (let i = 0; i < Math.min(offset, text.length); i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\' && quote.char === '"') i++;
      else if (c === "'" && quote.char === "'" && text[i + 1] === "'") i++;
      else if (c === quote.char) quote = undefined;
      prev = c;
      continue;
    }
    if (c === '#' && /\s/.test(text[i - 1] ?? ' ')) {
      const eol = text.indexOf('\n', i);
      i = (eol < 0 ? text.length : eol) - 1;
      continue;
    }
    if ((c === '"' || c === "'") && ':-[{,?\n'.includes(prev)) quote = { char: c, offset: i };
    else if (c === '{' || c === '[') stack.push({ char: c, offset: i });
    else if ((c === '}' || c === ']') && stack.length) stack.pop();
    if (c === '\n' || !/\s/.test(c)) prev = c;
  }
  return quote ?? stack.at(-1);
}
