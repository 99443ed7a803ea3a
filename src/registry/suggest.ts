import { closest, distance } from 'fastest-levenshtein';

/** The option nearest to `word`, when it is near enough to be a likely typo. */
export function nearest(word: string, options: readonly string[]): string | undefined {
  if (!options.length) return undefined;
  const best = closest(word, [...options]);
  const d = distance(word.toLowerCase(), best.toLowerCase());
  return d <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

/** `; did you mean 'x'?` or nothing. */
export function didYouMean(word: string, options: readonly string[]): string {
  const n = nearest(word, options);
  return n ? `; did you mean '${n}'?` : '';
}

/** `a, b, c` with quotes, for listing valid options. */
export function quoteList(options: readonly string[]): string {
  return options.map((o) => `'${o}'`).join(', ');
}
